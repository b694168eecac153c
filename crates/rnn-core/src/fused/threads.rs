//! Threads of a fused run: how many the kernels may use, and lanes run in lockstep (meeting at
//! a barrier that a failing thread releases). The buffers they share are in [`super::shared`].
//!
//! A run is split into a fixed number of lanes ([`Split`]) that depends only on the sizes and
//! on [`kernel_threads`], so its results never depend on how busy the machine is. How many OS
//! threads execute those lanes is decided per call from a process-wide budget of
//! [`kernel_threads`] threads: a call made while other calls hold the budget runs several
//! lanes (or all of them) on fewer threads, one after another within each round, instead of
//! oversubscribing the cores with threads that spin at each other's barriers.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::split::{Lane, Split};
use super::workers::Crew;

/// Environment variable that caps the kernels' threads (read once, at the first run, unless
/// [`set_kernel_threads`] was called).
const THREADS_VAR: &str = "RNN_KERNEL_THREADS";

/// The thread cap set by [`set_kernel_threads`]; 0 while unset.
static CAP: AtomicUsize = AtomicUsize::new(0);

/// Kernel threads currently running, over all concurrent calls (the calling threads included).
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// Caps the threads the fused CPU kernels use, over all concurrent calls together (the calling
/// threads included), at `threads` (at least 1). Overrides the `RNN_KERNEL_THREADS`
/// environment variable.
///
/// The cap also decides how a run is shared out (by examples or by hidden units), so results
/// can differ in the last bits between caps; for a given cap they are the same whatever
/// else runs at the same time.
pub fn set_kernel_threads(threads: usize) {
    CAP.store(threads.max(1), Ordering::Relaxed);
}

/// The thread cap of the fused CPU kernels: the value of [`set_kernel_threads`], else the
/// `RNN_KERNEL_THREADS` environment variable (a positive integer), else the machine's
/// available parallelism.
///
/// # Panics
/// If `RNN_KERNEL_THREADS` is set to anything but a positive integer.
pub fn kernel_threads() -> usize {
    match CAP.load(Ordering::Relaxed) {
        0 => *DEFAULT_CAP.get_or_init(|| {
            default_cap(std::env::var(THREADS_VAR).ok().as_deref())
                .unwrap_or_else(|e| panic!("{e}"))
        }),
        cap => cap,
    }
}

static DEFAULT_CAP: OnceLock<usize> = OnceLock::new();

/// The cap the environment variable's value `var` asks for, or the available parallelism.
fn default_cap(var: Option<&str>) -> Result<usize, crate::RnnError> {
    match var.map(str::trim) {
        None | Some("") => {
            Ok(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
        }
        Some(value) => value
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                crate::RnnError::new(
                    THREADS_VAR,
                    "a positive integer (threads)",
                    format!("{value:?}"),
                )
            }),
    }
}

/// Threads taken from the process-wide budget, given back on drop.
struct Reservation(usize);

impl Reservation {
    /// Up to `wanted` threads (at least the calling one, which runs whatever the budget).
    fn take(wanted: usize) -> Self {
        let cap = kernel_threads();
        let mut busy = BUSY.load(Ordering::Relaxed);
        loop {
            let granted = wanted.min(cap.saturating_sub(busy)).max(1);
            match BUSY.compare_exchange_weak(
                busy,
                busy + granted,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Self(granted),
                Err(now) => busy = now,
            }
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        BUSY.fetch_sub(self.0, Ordering::AcqRel);
    }
}

/// Runs `f(round, lane, scratch)` for `rounds` rounds on every lane of `split`, each lane with
/// its own scratch buffer. When the lanes meet after every step, all finish a round before any
/// starts the next.
///
/// The threads (the calling one among them) live for the whole sequence and meet at a
/// spinning barrier after each round: a round is one step, a fraction of a millisecond, too
/// short to hand jobs to a thread pool and wake its threads every time.
///
/// # Panics
/// If `f` panics on any thread (with that panic, after every thread has stopped), or if a
/// thread cannot be started.
pub(super) fn in_lockstep<F>(split: &Split, scratch: &mut [Vec<f32>], rounds: usize, f: F)
where
    F: Fn(usize, &Lane, &mut [f32]) + Sync,
{
    let mut work: Vec<(&Lane, &mut Vec<f32>)> =
        split.lanes.iter().zip(scratch.iter_mut()).collect();
    let reservation = Reservation::take(work.len());
    let threads = reservation.0;
    // Thread `k` runs lanes `k`, `k + threads`, ...: whole lanes, so a lane's units stay with
    // one thread (and its packed weights in that core's cache).
    let mut groups: Vec<Vec<(&Lane, &mut Vec<f32>)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, lane) in work.drain(..).enumerate() {
        groups[i % threads].push(lane);
    }
    let barrier = SpinBarrier::new(threads);
    let meet = split.meet && threads > 1;
    run_on_threads(groups, &barrier, |lanes| {
        for round in 0..rounds {
            for (lane, scratch) in lanes.iter_mut() {
                f(round, lane, scratch.as_mut_slice());
            }
            // When another thread failed (its panic is the one the caller sees), stop here
            // rather than run the remaining rounds for nothing.
            let go_on = if meet {
                barrier.wait()
            } else {
                !barrier.is_poisoned()
            };
            if !go_on {
                return;
            }
        }
    });
}

/// Runs `f(share)` for each share `0..shares`, on up to as many threads (the calling one
/// among them) as the budget allows.
///
/// # Panics
/// As [`in_lockstep`].
pub(super) fn on_threads(shares: usize, f: impl Fn(usize) + Sync) {
    let threads = Reservation::take(shares);
    let groups: Vec<Vec<usize>> = (0..threads.0)
        .map(|k| (k..shares).step_by(threads.0).collect())
        .collect();
    let barrier = SpinBarrier::new(threads.0);
    run_on_threads(groups, &barrier, |shares| shares.iter().for_each(|&s| f(s)));
}

/// Runs `f(work)` for each of `works` on its own thread, the first on the calling thread and
/// the others on kept kernel threads ([`Crew`]). A thread that panics poisons `barrier`
/// (releasing the threads that wait there) and its panic is resumed on the calling thread once
/// every thread has stopped; a thread that cannot be started poisons it too, and the caller
/// panics saying so.
fn run_on_threads<W: Send>(works: Vec<W>, barrier: &SpinBarrier, f: impl Fn(&mut W) + Sync) {
    let run = |mut work: W| {
        let unwinding = PoisonUnlessDone::new(barrier);
        f(&mut work);
        unwinding.done();
    };
    let mut works = works.into_iter();
    let first = works.next().expect("at least one thread");
    let mut crew = Crew::new();
    // Should this function unwind before the crew is waited for, the barrier is poisoned
    // first (dropped before the crew), so that jobs waiting there for the calling thread's
    // share return instead of making the crew's drop wait for ever.
    let unwinding = PoisonUnlessDone::new(barrier);
    for work in works {
        let run = &run;
        // SAFETY: the crew is not leaked: it is waited for below, or dropped.
        if let Err(e) = unsafe { start(&mut crew, Box::new(move || run(work))) } {
            barrier.poison();
            // The started threads return at the barrier; then the caller hears why.
            drop(crew);
            panic!("the fused recurrent kernel could not start a thread: {e}");
        }
    }
    let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(first)));
    // Every thread finished, then the first failure in thread order.
    let theirs = crew.wait();
    unwinding.done();
    if let Some(payload) = mine.err().or_else(|| theirs.into_iter().flatten().next()) {
        std::panic::resume_unwind(payload);
    }
}

/// [`Crew::start`] (in unit tests, fails when the calling thread asks).
///
/// # Safety
/// As [`Crew::start`].
unsafe fn start<'a>(
    crew: &mut Crew<'a>,
    work: Box<dyn FnOnce() + Send + 'a>,
) -> std::io::Result<()> {
    #[cfg(test)]
    if let Some(left) = tests::STARTS_LEFT.get() {
        if left == 0 {
            return Err(std::io::Error::other("refused by the test"));
        }
        tests::STARTS_LEFT.set(Some(left - 1));
    }
    // SAFETY: the caller's guarantees.
    unsafe { crew.start(work) }
}

/// Poisons the barrier when dropped before [`done`](Self::done): the work it guards unwound.
///
/// Not `std::thread::panicking()`: that is also true for a run made while the thread unwinds
/// from an earlier panic (from a `Drop`), whose normal end would then poison the barrier and
/// stop the other threads' lanes early, leaving their rows unwritten.
struct PoisonUnlessDone<'a>(Option<&'a SpinBarrier>);

impl<'a> PoisonUnlessDone<'a> {
    fn new(barrier: &'a SpinBarrier) -> Self {
        Self(Some(barrier))
    }

    /// The guarded work ended normally.
    fn done(mut self) {
        self.0 = None;
    }
}

impl Drop for PoisonUnlessDone<'_> {
    fn drop(&mut self) {
        if let Some(barrier) = self.0 {
            barrier.poison();
        }
    }
}

/// A barrier for a few threads that each own a core: waiters spin briefly, then yield, then
/// sleep (so that a thread the operating system took the core from does not keep the others
/// burning it). A poisoned barrier releases every waiter at once.
struct SpinBarrier {
    threads: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    poisoned: AtomicBool,
}

impl SpinBarrier {
    fn new(threads: usize) -> Self {
        Self {
            threads,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    /// Waits until every thread has arrived; `false` if the barrier is poisoned instead.
    fn wait(&self) -> bool {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.threads {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return !self.poisoned.load(Ordering::Acquire);
        }
        let mut waits = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if self.poisoned.load(Ordering::Acquire) {
                return false;
            }
            match waits {
                0..1024 => std::hint::spin_loop(),
                1024..2048 => std::thread::yield_now(),
                _ => std::thread::sleep(Duration::from_micros(50)),
            }
            waits = waits.saturating_add(1);
        }
        !self.poisoned.load(Ordering::Acquire)
    }

    fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::fused::split::split_among;

    thread_local! {
        /// How many more jobs [`start`] hands to kernel threads from this thread before it
        /// fails (no limit when `None`).
        pub(super) static STARTS_LEFT: Cell<Option<usize>> = const { Cell::new(None) };
    }

    #[test]
    fn the_environment_variable_sets_the_default_cap() {
        assert_eq!(default_cap(Some("3")), Ok(3));
        assert_eq!(default_cap(Some(" 1 ")), Ok(1));
        assert!(default_cap(None).unwrap() >= 1);
        for bad in ["0", "-2", "many", "1.5"] {
            let e = default_cap(Some(bad)).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("RNN_KERNEL_THREADS: expected a positive integer (threads), got {bad:?}")
            );
        }
    }

    /// Runs `f` and returns the message it panicked with, checking it ended in reasonable
    /// time (a hang would be caught by the test harness's own timeout otherwise).
    fn panic_message(f: impl FnOnce()) -> String {
        let started = std::time::Instant::now();
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .expect_err("the panic reaches the caller");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => payload.downcast_ref::<&str>().unwrap().to_string(),
        }
    }

    /// Four threads meeting at a barrier for 1000 rounds, one of which panics at round 3:
    /// the others are released and the caller gets that panic.
    #[test]
    fn a_panicking_thread_releases_the_others() {
        for failing in 0..4 {
            let barrier = SpinBarrier::new(4);
            let message = panic_message(|| {
                run_on_threads((0..4).collect(), &barrier, |&mut k| {
                    for round in 0..1000 {
                        if (k, round) == (failing, 3) {
                            panic!("thread {k} failed");
                        }
                        if !barrier.wait() {
                            return;
                        }
                    }
                })
            });
            assert_eq!(message, format!("thread {failing} failed"));
        }
    }

    /// A run made while the thread unwinds from another panic (from a `Drop`) runs whole: the
    /// caller's share ending normally does not stop the other threads' lanes.
    #[test]
    fn a_run_during_unwinding_runs_every_round() {
        struct RunsOnDrop<'a>(&'a dyn Fn());
        impl Drop for RunsOnDrop<'_> {
            fn drop(&mut self) {
                (self.0)()
            }
        }
        let rounds = AtomicUsize::new(0);
        let run = || {
            assert!(std::thread::panicking());
            let barrier = SpinBarrier::new(2);
            // The caller's share ends at once; the other's runs 20 rounds, stopping early
            // only if the barrier is poisoned (as lanes that split the examples do).
            run_on_threads(vec![0, 20], &barrier, |&mut count| {
                for _ in 0..count {
                    std::thread::sleep(Duration::from_millis(1));
                    rounds.fetch_add(1, Ordering::SeqCst);
                    if barrier.is_poisoned() {
                        return;
                    }
                }
            });
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _runs = RunsOnDrop(&run);
            panic!("an earlier failure");
        }));
        assert!(result.is_err());
        assert_eq!(rounds.into_inner(), 20);
    }

    /// A thread that cannot be started ends the run with a panic that says so, instead of
    /// leaving the started ones waiting for it at the barrier.
    #[test]
    fn a_thread_that_cannot_start_releases_the_others() {
        STARTS_LEFT.set(Some(1));
        let barrier = SpinBarrier::new(3);
        let message =
            panic_message(|| run_on_threads(vec![(); 3], &barrier, |_| while barrier.wait() {}));
        STARTS_LEFT.set(None);
        assert_eq!(
            message,
            "the fused recurrent kernel could not start a thread: refused by the test"
        );
    }

    /// A split of 4 lanes by hidden units, which meet after every round.
    fn four_lanes() -> Split {
        let split = split_among(4, (4, 1024), 1, 2, false);
        assert_eq!(split.lanes.len(), 4);
        assert!(split.meet);
        split
    }

    /// The same through [`in_lockstep`], on however many threads the budget gives.
    #[test]
    fn a_panicking_lane_ends_the_run_with_its_panic() {
        for failing in 0..4 {
            let mut scratch = vec![Vec::new(); 4];
            let message = panic_message(|| {
                in_lockstep(&four_lanes(), &mut scratch, 1000, |round, lane, _| {
                    if round == 3 && lane.part == failing {
                        panic!("lane {failing} failed");
                    }
                })
            });
            assert_eq!(message, format!("lane {failing} failed"));
        }
    }

    /// Lanes that share a thread run one after another within each round: every lane runs
    /// every round once, and no lane starts round `r + 1` before all have finished round `r`.
    #[test]
    fn lanes_keep_in_lockstep_on_fewer_threads() {
        let mut scratch = vec![Vec::new(); 4];
        let done = AtomicUsize::new(0);
        in_lockstep(&four_lanes(), &mut scratch, 50, |round, _, _| {
            let before = done.fetch_add(1, Ordering::SeqCst);
            assert!(
                (round * 4..(round + 1) * 4).contains(&before),
                "round {round} after {before} lanes"
            );
        });
        assert_eq!(done.into_inner(), 200);
    }

    #[test]
    fn every_share_runs_once() {
        let counts: Vec<AtomicUsize> = (0..7).map(|_| AtomicUsize::new(0)).collect();
        on_threads(7, |s| {
            counts[s].fetch_add(1, Ordering::SeqCst);
        });
        assert!(counts.iter().all(|c| c.load(Ordering::SeqCst) == 1));
    }
}

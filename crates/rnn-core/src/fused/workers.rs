//! The kernels' threads, started once and kept: a fused run hands the work of its other
//! threads to kept ones that are idle ([`Crew`]), and starts a thread only when none is.
//!
//! A thread started for each run was often placed by the operating system on the core of the
//! thread that started it, and stayed there for the run: the two halves of a forward pass
//! then ran one after the other (BENCHMARKS.md, 2026-12-06 23:55). A kept thread that waits
//! for work wakes on the core it last ran on.

use std::any::Any;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::Thread;

/// What a panic unwound with.
pub(super) type Panic = Box<dyn Any + Send>;

/// How many times the waiting thread checks for the crew's end before it sleeps: about as
/// long as the uneven ends of a run's threads differ, so that it rarely sleeps and wakes.
const SPINS: u32 = 4096;

/// Work for a kept thread, and the crew it reports to.
struct Job {
    work: Box<dyn FnOnce() + Send>,
    crew: Arc<Report>,
    index: usize,
}

/// What a crew's kept threads report to the thread that waits for them.
struct Report {
    /// Jobs handed out and not yet finished.
    running: AtomicUsize,
    /// Each job's panic, in the order they were handed out.
    panics: Mutex<Vec<Option<Panic>>>,
    /// The thread that waits ([`Crew::wait`]).
    waiter: Thread,
}

impl Report {
    /// Job `index` has finished (and dropped its work), with `panic` if it panicked.
    fn finished(&self, index: usize, panic: Option<Panic>) {
        if panic.is_some() {
            lock(&self.panics)[index] = panic;
        }
        // Release: the job's writes happen before the waiter sees the count drop (every
        // update of `running` is a read-modify-write, so the waiter's acquiring load of 0
        // synchronises with every job's).
        if self.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.waiter.unpark();
        }
    }
}

/// Kept threads waiting for work (the senders of their job queues), and the process they
/// belong to: a child process made by `fork` has none of its parent's threads, and must not
/// hand them jobs that would never run. (A child forked while another thread held this lock,
/// or one that has its parent's process id in a new pid namespace, is not covered.)
static IDLE: Mutex<(u32, Vec<Sender<Job>>)> = Mutex::new((0, Vec::new()));

/// Puts a kept thread's queue back among the idle ones.
fn idle_again(queue: Sender<Job>) {
    let mut idle = lock(&IDLE);
    if idle.0 == std::process::id() {
        idle.1.push(queue);
    }
}

/// `mutex`'s value; a panic while it was held leaves nothing half-written in these.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An idle kept thread's queue, or a new thread's.
fn idle_thread() -> std::io::Result<Sender<Job>> {
    {
        let mut idle = lock(&IDLE);
        let process = std::process::id();
        if idle.0 != process {
            *idle = (process, Vec::new());
        }
        if let Some(queue) = idle.1.pop() {
            return Ok(queue);
        }
    }
    let (queue, jobs) = mpsc::channel::<Job>();
    let mine = queue.clone();
    std::thread::Builder::new()
        .name("rnn-kernel".into())
        .spawn(move || {
            // The queue never closes (this thread holds a sender): kept for the process.
            for Job { work, crew, index } in jobs {
                let panic = std::panic::catch_unwind(AssertUnwindSafe(work)).err();
                // Idle again before the crew hears, so that a run that follows finds it.
                idle_again(mine.clone());
                crew.finished(index, panic);
            }
        })?;
    Ok(queue)
}

/// Jobs handed to kept threads by one thread, which waits for them all ([`Crew::wait`], or
/// the crew's drop). The jobs may borrow for `'a`: as the crew waits when dropped, the
/// borrows last while it lives.
pub(super) struct Crew<'a> {
    report: Arc<Report>,
    /// Not `Send`: the thread that made the crew is the one its last job wakes.
    _waiter: PhantomData<*const ()>,
    /// Invariant in `'a`, the jobs' borrows.
    _borrows: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl<'a> Crew<'a> {
    /// A crew with no jobs yet, waited for by the calling thread.
    pub fn new() -> Self {
        Self {
            report: Arc::new(Report {
                running: AtomicUsize::new(0),
                panics: Mutex::new(Vec::new()),
                waiter: std::thread::current(),
            }),
            _waiter: PhantomData,
            _borrows: PhantomData,
        }
    }

    /// Hands `work` to an idle kept thread, or to a new one; an error if a thread cannot be
    /// started (`work` is then dropped here, unrun).
    ///
    /// # Safety
    /// The crew is not leaked (`mem::forget`): it is waited for ([`Crew::wait`], or its drop),
    /// which the borrow checker then places within `'a`.
    pub unsafe fn start(&mut self, work: Box<dyn FnOnce() + Send + 'a>) -> std::io::Result<()> {
        // SAFETY: only the lifetime changes (the same fat pointer). The crew is waited for
        // within `'a` (the caller does not leak it, and it holds `'a`), and its wait returns
        // only once every job handed out has run and dropped its work (`Report::finished`
        // comes after both), so the work is never used after `'a`; what outlives a job is its
        // panic's payload, which is `'static`. A job that is not handed out is dropped here,
        // within `'a`.
        let work: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(work) };
        let queue = idle_thread()?;
        let index = {
            let mut panics = lock(&self.report.panics);
            panics.push(None);
            panics.len() - 1
        };
        self.report.running.fetch_add(1, Ordering::AcqRel);
        let job = Job {
            work,
            crew: Arc::clone(&self.report),
            index,
        };
        if let Err(mpsc::SendError(job)) = queue.send(job) {
            // A kept thread never stops (it catches its jobs' panics); should one have, its
            // job comes back here and is dropped unrun.
            drop(job);
            self.report.running.fetch_sub(1, Ordering::AcqRel);
            return Err(std::io::Error::other("a kernel thread has stopped"));
        }
        Ok(())
    }

    /// Waits until every job handed out has finished; their panics, in the order they were
    /// handed out.
    pub fn wait(self) -> Vec<Option<Panic>> {
        self.wait_for_all();
        std::mem::take(&mut *lock(&self.report.panics))
    }

    fn wait_for_all(&self) {
        let mut spins = 0;
        // Acquire: the jobs' writes are visible once their count has dropped.
        while self.report.running.load(Ordering::Acquire) > 0 {
            if spins < SPINS {
                std::hint::spin_loop();
                spins += 1;
            } else {
                // Woken by the last job to finish (or by an earlier crew's wake-up left
                // over: the loop checks again).
                std::thread::park();
            }
        }
    }
}

impl Drop for Crew<'_> {
    /// Waits for the jobs, as [`Crew::wait`] (for a caller that unwinds before it waits),
    /// and drops their panics here rather than on the kept thread that may drop the report
    /// last.
    fn drop(&mut self) {
        self.wait_for_all();
        drop(std::mem::take(&mut *lock(&self.report.panics)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jobs that borrow the caller's data run on other threads, all of them before `wait`
    /// returns, and their panics come back in order; the threads are kept for the next crew.
    #[test]
    fn a_crew_runs_every_job_and_reports_its_panics() {
        let counts: Vec<AtomicUsize> = (0..5).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..3 {
            let mut crew = Crew::new();
            for (k, count) in counts.iter().enumerate() {
                let me = std::thread::current().id();
                // SAFETY: the crew is waited for below, before `counts` goes away.
                unsafe {
                    crew.start(Box::new(move || {
                        assert_ne!(std::thread::current().id(), me);
                        count.fetch_add(1, Ordering::SeqCst);
                        if k % 2 == 1 {
                            panic!("job {k}");
                        }
                    }))
                    .unwrap();
                }
            }
            let panics: Vec<Option<String>> = crew
                .wait()
                .into_iter()
                .map(|p| p.map(|p| *p.downcast::<String>().unwrap()))
                .collect();
            assert_eq!(
                panics,
                [None, Some("job 1".into()), None, Some("job 3".into()), None]
            );
        }
        assert!(counts.iter().all(|c| c.load(Ordering::SeqCst) == 3));
    }
}

//! The sampling frequency of a series, inferred from its dates, and the regular grid of dates
//! it defines: daily, weekly, every `n` days, monthly, quarterly, yearly, every `n` months.

use std::collections::BTreeMap;
use std::fmt;

use super::date::Date;

/// How far apart consecutive points of a series are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Frequency {
    /// Every `n` days (1: daily, 7: weekly).
    Days(u32),
    /// Every `n` calendar months (1: monthly, 3: quarterly, 12: yearly); the day of the month
    /// may vary (month ends).
    Months(u32),
}

impl Frequency {
    /// The frequency of `dates` (increasing, at least two): the most common gap between
    /// consecutive dates, read as calendar months when it is 28–31 days (monthly), 89–92
    /// (quarterly), 181–184 (half-yearly) or 365–366 (yearly), and as days otherwise. Larger
    /// gaps are missing points.
    pub fn infer(dates: &[Date]) -> Option<Self> {
        let mut gaps: BTreeMap<i64, usize> = BTreeMap::new();
        for pair in dates.windows(2) {
            *gaps.entry(pair[1].days() - pair[0].days()).or_default() += 1;
        }
        // The most common gap; the smallest among equally common ones.
        let (&gap, _) = gaps.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
        Some(match gap {
            28..=31 => Self::Months(1),
            89..=92 => Self::Months(3),
            181..=184 => Self::Months(6),
            365..=366 => Self::Months(12),
            gap => Self::Days(u32::try_from(gap).ok().filter(|&g| g > 0)?),
        })
    }

    /// The seasonal period in points: a week of days (7), a year of weeks (52), months (12) or
    /// quarters (4); 1 (no season) otherwise.
    pub fn period(self) -> usize {
        match self {
            Self::Days(1) => 7,
            Self::Days(7) => 52,
            Self::Months(1) => 12,
            Self::Months(3) => 4,
            Self::Months(6) => 2,
            _ => 1,
        }
    }

    /// The position of `date` on the grid that starts at `start`, or `None` when it falls
    /// between grid points or before `start`.
    pub fn index(self, start: Date, date: Date) -> Option<usize> {
        let (steps, size) = match self {
            Self::Days(n) => (date.days() - start.days(), i64::from(n)),
            Self::Months(n) => (date.months() - start.months(), i64::from(n)),
        };
        (steps >= 0 && steps % size == 0)
            .then(|| usize::try_from(steps / size).ok())
            .flatten()
    }

    /// The date of grid point `index` of the grid that starts at `start`.
    pub fn date(self, start: Date, index: usize) -> Date {
        match self {
            Self::Days(n) => Date::from_days(start.days() + index as i64 * i64::from(n)),
            Self::Months(n) => start.add_months(index as i64 * i64::from(n)),
        }
    }
}

/// `daily`, `weekly`, `every 3 days`, `monthly`, `quarterly`, `yearly`, `every 2 months`.
impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Days(1) => write!(f, "daily"),
            Self::Days(7) => write!(f, "weekly"),
            Self::Days(n) => write!(f, "every {n} days"),
            Self::Months(1) => write!(f, "monthly"),
            Self::Months(3) => write!(f, "quarterly"),
            Self::Months(6) => write!(f, "half-yearly"),
            Self::Months(12) => write!(f, "yearly"),
            Self::Months(n) => write!(f, "every {n} months"),
        }
    }
}

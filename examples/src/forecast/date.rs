//! Calendar dates (proleptic Gregorian), as the series files write them, with the day and month
//! arithmetic that places them on a grid.

use std::fmt;

/// A calendar date.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Date {
    /// The year.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to its length.
    pub day: u32,
}

impl Date {
    /// The date `year-month-day`, or `None` when there is no such day.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day))
            .then_some(Self { year, month, day })
    }

    /// Reads `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD` or `YYYY-MM` (the first of the month).
    pub fn parse(text: &str) -> Option<Self> {
        let number = |part: &str| -> Option<u32> {
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        };
        let parts: Vec<&str> = text.split(['-', '/']).collect();
        let (year, month, day) = match parts[..] {
            // ASCII only: slicing by bytes must not cut a character (a header like `Período`).
            [whole] if whole.len() == 8 && whole.is_ascii() => {
                (&whole[..4], &whole[4..6], &whole[6..])
            }
            [year, month] => (year, month, "1"),
            [year, month, day] => (year, month, day),
            _ => return None,
        };
        if year.len() != 4 {
            return None;
        }
        Self::new(number(year)? as i32, number(month)?, number(day)?)
    }

    /// Days since 1970-01-01 (negative before): the day count of Howard Hinnant's
    /// `days_from_civil`.
    pub fn days(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year =
            (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` days after 1970-01-01 (the inverse of [`days`](Self::days)).
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        } as u32;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Self {
            year: year as i32,
            month,
            day,
        }
    }

    /// Months since January of year 0: consecutive months differ by 1.
    pub fn months(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    /// The same day `months` months later, on the month's last day when it is shorter
    /// (31 January + 1 month = 28 or 29 February).
    pub fn add_months(self, months: i64) -> Self {
        let total = self.months() + months;
        let (year, month) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u32 + 1);
        Self {
            year,
            month,
            day: self.day.min(days_in_month(year, month)),
        }
    }
}

/// `YYYY-MM-DD`.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

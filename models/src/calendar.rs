//! Business hours ("heures ouvrables"): the office's weekly opening hours in
//! local time, minus Québec statutory holidays and municipal closures. Used to
//! tell citizens when a person can be reached and to compute deadlines.
//!
//! Pure rules over `chrono` values; the clock is always passed in.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How far ahead we look for the next opening before giving up: a year of
/// closures would be a configuration error, not a calendar.
const MAX_DAYS_SEARCHED: u32 = 366;

crate::slug_enum! {
    /// A statutory holiday observed in Québec.
    pub enum Holiday("holiday") {
        /// 1 January.
        NewYear => "new_year",
        /// Friday before Easter Sunday.
        GoodFriday => "good_friday",
        /// Monday after Easter Sunday.
        EasterMonday => "easter_monday",
        /// Monday before 25 May.
        NationalPatriotsDay => "national_patriots_day",
        /// 24 June, or 25 June when the 24th is a Sunday.
        FeteNationale => "fete_nationale",
        /// 1 July, or 2 July when the 1st is a Sunday.
        CanadaDay => "canada_day",
        /// First Monday of September.
        LabourDay => "labour_day",
        /// Second Monday of October.
        Thanksgiving => "thanksgiving",
        /// 25 December.
        Christmas => "christmas",
        /// A closure the city configured (for example 26 December).
        MunicipalClosure => "municipal_closure",
    }
}

/// Easter Sunday in the Gregorian calendar (anonymous Gregorian algorithm).
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

/// The Québec statutory holiday falling on `date`, if any.
pub fn quebec_holiday(date: NaiveDate) -> Option<Holiday> {
    let year = date.year();
    let md = (date.month(), date.day());
    if md == (1, 1) {
        return Some(Holiday::NewYear);
    }
    if md == (12, 25) {
        return Some(Holiday::Christmas);
    }
    let fete = NaiveDate::from_ymd_opt(year, 6, 24)?;
    let fete = if fete.weekday() == Weekday::Sun {
        fete.succ_opt()?
    } else {
        fete
    };
    if date == fete {
        return Some(Holiday::FeteNationale);
    }
    let canada = NaiveDate::from_ymd_opt(year, 7, 1)?;
    let canada = if canada.weekday() == Weekday::Sun {
        canada.succ_opt()?
    } else {
        canada
    };
    if date == canada {
        return Some(Holiday::CanadaDay);
    }
    let easter = easter_sunday(year)?;
    if date == easter - Duration::days(2) {
        return Some(Holiday::GoodFriday);
    }
    if date == easter + Duration::days(1) {
        return Some(Holiday::EasterMonday);
    }
    // The Monday before 25 May: the Monday within 18..=24 May.
    let may25 = NaiveDate::from_ymd_opt(year, 5, 25)?;
    let back = i64::from(may25.weekday().num_days_from_monday());
    let patriots = may25 - Duration::days(if back == 0 { 7 } else { back });
    if date == patriots {
        return Some(Holiday::NationalPatriotsDay);
    }
    if Some(date) == nth_weekday(year, 9, Weekday::Mon, 1) {
        return Some(Holiday::LabourDay);
    }
    if Some(date) == nth_weekday(year, 10, Weekday::Mon, 2) {
        return Some(Holiday::Thanksgiving);
    }
    None
}

/// Opening and closing time of one day, local.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHours {
    /// When the office opens.
    pub opens: NaiveTime,
    /// When it closes (after `opens`).
    pub closes: NaiveTime,
}

/// Whether the office is open at a given instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfficeStatus {
    /// Open now, until `closes_at` today.
    Open {
        /// Today's hours.
        today: DayHours,
        /// Local closing time today.
        closes_at: DateTime<Tz>,
    },
    /// Closed now.
    Closed {
        /// Today's hours if the office opens later today or opened earlier today.
        today: Option<DayHours>,
        /// Why it is closed all day, when that is the reason.
        holiday: Option<Holiday>,
        /// When it next opens, local.
        reopens_at: Option<DateTime<Tz>>,
    },
}

/// The office calendar: weekly hours, time zone and extra closures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    tz: Tz,
    /// Monday first.
    week: [Option<DayHours>; 7],
    closures: Vec<NaiveDate>,
}

impl Calendar {
    /// Builds a calendar. `week` is Monday first; `None` means closed all day.
    pub fn new(tz: Tz, week: [Option<DayHours>; 7], mut closures: Vec<NaiveDate>) -> Self {
        closures.sort_unstable();
        closures.dedup();
        Self { tz, week, closures }
    }

    /// The calendar's time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Why the office is closed all day on `date`, if it is a holiday or closure.
    pub fn holiday(&self, date: NaiveDate) -> Option<Holiday> {
        quebec_holiday(date).or_else(|| {
            self.closures
                .binary_search(&date)
                .ok()
                .map(|_| Holiday::MunicipalClosure)
        })
    }

    /// The hours on `date`, or `None` when closed all day.
    pub fn hours_on(&self, date: NaiveDate) -> Option<DayHours> {
        if self.holiday(date).is_some() {
            return None;
        }
        self.week[date.weekday().num_days_from_monday() as usize]
    }

    fn local(&self, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Tz>> {
        self.tz.from_local_datetime(&date.and_time(time)).earliest()
    }

    /// The next instant the office opens, strictly after `now`'s current open
    /// period (or `now`'s closed period).
    pub fn next_opening(&self, now: DateTime<Utc>) -> Option<DateTime<Tz>> {
        let local = now.with_timezone(&self.tz);
        let mut date = local.date_naive();
        for _ in 0..MAX_DAYS_SEARCHED {
            if let Some(hours) = self.hours_on(date) {
                let opens = self.local(date, hours.opens)?;
                if opens > local {
                    return Some(opens);
                }
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// Open or closed at `now`, with today's hours and when it reopens.
    pub fn status_at(&self, now: DateTime<Utc>) -> OfficeStatus {
        let local = now.with_timezone(&self.tz);
        let date = local.date_naive();
        let today = self.hours_on(date);
        if let Some(hours) = today {
            let time = local.time();
            if time >= hours.opens && time < hours.closes {
                if let Some(closes_at) = self.local(date, hours.closes) {
                    return OfficeStatus::Open {
                        today: hours,
                        closes_at,
                    };
                }
            }
        }
        OfficeStatus::Closed {
            today,
            holiday: self.holiday(date),
            reopens_at: self.next_opening(now),
        }
    }

    /// The instant that lies `hours` business hours after `start`: only time
    /// inside opening hours counts. Used for "24 heures ouvrables" deadlines.
    pub fn add_business_hours(&self, start: DateTime<Utc>, hours: u32) -> Option<DateTime<Utc>> {
        let mut remaining = Duration::hours(i64::from(hours));
        let local = start.with_timezone(&self.tz);
        let mut date = local.date_naive();
        let mut cursor = local;
        for _ in 0..(MAX_DAYS_SEARCHED * 4) {
            if let Some(day) = self.hours_on(date) {
                let opens = self.local(date, day.opens)?;
                let closes = self.local(date, day.closes)?;
                let from = cursor.max(opens);
                if from < closes {
                    let available = closes - from;
                    if available >= remaining {
                        return Some((from + remaining).with_timezone(&Utc));
                    }
                    remaining -= available;
                }
            }
            date = date.succ_opt()?;
            cursor = self.local(date, NaiveTime::MIN)?;
        }
        None
    }

    /// The date `days` business days after `start`'s local date (a day counts
    /// when the office opens at all).
    pub fn add_business_days(&self, start: DateTime<Utc>, days: u32) -> Option<NaiveDate> {
        let mut date = start.with_timezone(&self.tz).date_naive();
        let mut left = days;
        let mut guard = 0;
        while left > 0 {
            date = date.succ_opt()?;
            if self.hours_on(date).is_some() {
                left -= 1;
            }
            guard += 1;
            if guard > MAX_DAYS_SEARCHED * 4 {
                return None;
            }
        }
        Some(date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Toronto;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn office() -> Calendar {
        let weekday = Some(DayHours {
            opens: t(8, 0),
            closes: t(19, 0),
        });
        let friday = Some(DayHours {
            opens: t(8, 0),
            closes: t(12, 0),
        });
        Calendar::new(
            Toronto,
            [weekday, weekday, weekday, weekday, friday, None, None],
            vec![d(2026, 12, 24), d(2026, 12, 26)],
        )
    }

    fn local(y: i32, mo: u32, day: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Toronto
            .with_ymd_and_hms(y, mo, day, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn quebec_holidays_of_2026_are_known() {
        let expected = [
            (d(2026, 1, 1), Holiday::NewYear),
            (d(2026, 4, 3), Holiday::GoodFriday),
            (d(2026, 4, 6), Holiday::EasterMonday),
            (d(2026, 5, 18), Holiday::NationalPatriotsDay),
            (d(2026, 6, 24), Holiday::FeteNationale),
            (d(2026, 7, 1), Holiday::CanadaDay),
            (d(2026, 9, 7), Holiday::LabourDay),
            (d(2026, 10, 12), Holiday::Thanksgiving),
            (d(2026, 12, 25), Holiday::Christmas),
        ];
        for (date, holiday) in expected {
            assert_eq!(quebec_holiday(date), Some(holiday), "date {date}");
        }
        assert_eq!(quebec_holiday(d(2026, 1, 13)), None);
        assert_eq!(quebec_holiday(d(2026, 5, 25)), None);
    }

    #[test]
    fn holidays_on_sunday_move_to_monday_where_the_law_says() {
        // 24 June 2029 and 1 July 2029 are Sundays.
        assert_eq!(quebec_holiday(d(2029, 6, 25)), Some(Holiday::FeteNationale));
        assert_eq!(quebec_holiday(d(2029, 6, 24)), None);
        assert_eq!(quebec_holiday(d(2029, 7, 2)), Some(Holiday::CanadaDay));
        // Patriots' Day when 25 May is a Monday (2026 is not; 2020 was).
        assert_eq!(
            quebec_holiday(d(2020, 5, 18)),
            Some(Holiday::NationalPatriotsDay)
        );
    }

    #[test]
    fn easter_dates_match_the_published_tables() {
        assert_eq!(easter_sunday(2024), Some(d(2024, 3, 31)));
        assert_eq!(easter_sunday(2025), Some(d(2025, 4, 20)));
        assert_eq!(easter_sunday(2026), Some(d(2026, 4, 5)));
        assert_eq!(easter_sunday(2027), Some(d(2027, 3, 28)));
    }

    #[test]
    fn office_is_open_on_a_tuesday_morning() {
        let status = office().status_at(local(2026, 1, 13, 9, 2));
        let OfficeStatus::Open { closes_at, .. } = status else {
            panic!("{status:?}")
        };
        assert_eq!(closes_at.time(), t(19, 0));
    }

    #[test]
    fn friday_evening_reopens_on_monday_morning() {
        let status = office().status_at(local(2026, 1, 16, 18, 0));
        let OfficeStatus::Closed {
            reopens_at: Some(at),
            holiday: None,
            ..
        } = status
        else {
            panic!("{status:?}")
        };
        assert_eq!(at.date_naive(), d(2026, 1, 19));
        assert_eq!(at.time(), t(8, 0));
    }

    #[test]
    fn christmas_eve_closure_reopens_after_the_holidays() {
        let status = office().status_at(local(2026, 12, 24, 10, 0));
        let OfficeStatus::Closed {
            reopens_at: Some(at),
            holiday: Some(Holiday::MunicipalClosure),
            ..
        } = status
        else {
            panic!("{status:?}")
        };
        // 25 Christmas, 26 closure (Saturday anyway), 27 Sunday: Monday 28.
        assert_eq!(at.date_naive(), d(2026, 12, 28));
    }

    #[test]
    fn business_hours_skip_nights_weekends_and_holidays() {
        let cal = office();
        // Thursday 2 April 2026 at 17:00: 2 h left Thursday, Good Friday and
        // the weekend and Easter Monday are closed, then 11 h Tuesday and the
        // last 11 h end at Wednesday's closing time.
        let deadline = cal
            .add_business_hours(local(2026, 4, 2, 17, 0), 24)
            .unwrap();
        assert_eq!(deadline, local(2026, 4, 8, 19, 0));
        let deadline = cal
            .add_business_hours(local(2026, 4, 2, 17, 0), 25)
            .unwrap();
        assert_eq!(deadline, local(2026, 4, 9, 9, 0));
        assert_eq!(
            cal.add_business_days(local(2026, 4, 2, 17, 0), 1),
            Some(d(2026, 4, 7))
        );
    }
}

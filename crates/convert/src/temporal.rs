//! Calendar arithmetic shared by the decoders and encoders: MySQL's packed DATETIME, `YYYYMMDD`
//! dates, TIMESTAMP instants and TIME durations, all in integers.
//!
//! Nothing here consults a time zone or the calendar's validity: MySQL lets `0000-00-00` and
//! `2020-00-15` into DATE and DATETIME columns, and these functions carry such values unchanged.
//! Only TIMESTAMP, an instant, goes through the proleptic Gregorian day count (Howard Hinnant's
//! `days_from_civil`), and a TIMESTAMP is never partly zero.

/// The parts of a DATE or DATETIME, as the server stores them (zero parts allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DateTimeParts {
    /// 0 ..= 9999.
    pub year: u16,
    /// 0 ..= 12.
    pub month: u8,
    /// 0 ..= 31.
    pub day: u8,
    /// 0 ..= 23.
    pub hour: u8,
    /// 0 ..= 59.
    pub minute: u8,
    /// 0 ..= 59.
    pub second: u8,
    /// 0 ..= 999 999.
    pub micros: u32,
}

/// Microseconds in a second, minute, hour and day.
const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

impl DateTimeParts {
    /// A DATE as `YYYYMMDD`.
    pub fn to_yyyymmdd(self) -> i32 {
        i32::from(self.year) * 10_000 + i32::from(self.month) * 100 + i32::from(self.day)
    }

    /// The date parts of `YYYYMMDD` (time parts zero). `None` if out of DATE's range.
    pub fn from_yyyymmdd(value: i32) -> Option<DateTimeParts> {
        if !(0..=99_991_231).contains(&value) {
            return None;
        }
        let parts = DateTimeParts {
            year: u16::try_from(value / 10_000).ok()?,
            month: u8::try_from(value / 100 % 100).ok()?,
            day: u8::try_from(value % 100).ok()?,
            ..DateTimeParts::default()
        };
        (parts.month <= 12 && parts.day <= 31).then_some(parts)
    }

    /// MySQL's packed DATETIME: `((year·13 + month)·32 + day) · 2¹⁷ + hms) · 2²⁴ + micros` with
    /// `hms = hour·2¹² + minute·2⁶ + second`.
    pub fn to_packed(self) -> i64 {
        let ymd = (i64::from(self.year) * 13 + i64::from(self.month)) * 32 + i64::from(self.day);
        let hms =
            (i64::from(self.hour) << 12) | (i64::from(self.minute) << 6) | i64::from(self.second);
        (((ymd << 17) | hms) << 24) + i64::from(self.micros)
    }

    /// The inverse of [`DateTimeParts::to_packed`]. `None` for a value no DATETIME packs to.
    pub fn from_packed(value: i64) -> Option<DateTimeParts> {
        if value < 0 {
            return None;
        }
        let micros = u32::try_from(value & 0xFF_FFFF).ok()?;
        let ymdhms = value >> 24;
        let hms = ymdhms & 0x1_FFFF;
        let ymd = ymdhms >> 17;
        let ym = ymd / 32;
        let parts = DateTimeParts {
            year: u16::try_from(ym / 13).ok()?,
            month: u8::try_from(ym % 13).ok()?,
            day: u8::try_from(ymd % 32).ok()?,
            hour: u8::try_from(hms >> 12).ok()?,
            minute: u8::try_from((hms >> 6) & 0x3F).ok()?,
            second: u8::try_from(hms & 0x3F).ok()?,
            micros,
        };
        parts.is_in_range().then_some(parts)
    }

    /// Whether every part is within what a DATETIME column can hold (zeros allowed).
    pub fn is_in_range(self) -> bool {
        self.year <= 9999
            && self.month <= 12
            && self.day <= 31
            && self.hour <= 23
            && self.minute <= 59
            && self.second <= 59
            && self.micros <= 999_999
    }

    /// Whether this is the zero value `0000-00-00 00:00:00`.
    pub fn is_zero(self) -> bool {
        self == DateTimeParts::default()
    }

    /// The instant these UTC parts name, in microseconds since 1970-01-01 00:00:00 UTC; the zero
    /// value gives 0 (the zero TIMESTAMP; no TIMESTAMP is exactly the epoch, its range begins
    /// one second later). `None` for a partly zero date, which no TIMESTAMP holds.
    pub fn to_timestamp_micros(self) -> Option<i64> {
        if self.is_zero() {
            return Some(0);
        }
        if self.month == 0 || self.day == 0 || !self.is_in_range() {
            return None;
        }
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        Some(
            days * MICROS_PER_DAY
                + i64::from(self.hour) * MICROS_PER_HOUR
                + i64::from(self.minute) * MICROS_PER_MINUTE
                + i64::from(self.second) * MICROS_PER_SECOND
                + i64::from(self.micros),
        )
    }

    /// The UTC parts of an instant; 0 gives the zero value. `None` beyond year 9999 or before 0.
    pub fn from_timestamp_micros(micros: i64) -> Option<DateTimeParts> {
        if micros == 0 {
            return Some(DateTimeParts::default());
        }
        let days = micros.div_euclid(MICROS_PER_DAY);
        let in_day = micros.rem_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Some(DateTimeParts {
            year: u16::try_from(year).ok().filter(|y| *y <= 9999)?,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
            hour: u8::try_from(in_day / MICROS_PER_HOUR).ok()?,
            minute: u8::try_from(in_day / MICROS_PER_MINUTE % 60).ok()?,
            second: u8::try_from(in_day / MICROS_PER_SECOND % 60).ok()?,
            micros: u32::try_from(in_day % MICROS_PER_SECOND).ok()?,
        })
    }
}

/// A TIME value's parts: sign, hours (up to 838), minutes, seconds, microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeParts {
    /// Whether the value is below zero.
    pub negative: bool,
    /// 0 ..= 838 for values the server holds.
    pub hours: u32,
    /// 0 ..= 59.
    pub minutes: u8,
    /// 0 ..= 59.
    pub seconds: u8,
    /// 0 ..= 999 999.
    pub micros: u32,
}

impl TimeParts {
    /// The signed duration in microseconds.
    pub fn to_micros(self) -> i64 {
        let magnitude = i64::from(self.hours) * MICROS_PER_HOUR
            + i64::from(self.minutes) * MICROS_PER_MINUTE
            + i64::from(self.seconds) * MICROS_PER_SECOND
            + i64::from(self.micros);
        if self.negative { -magnitude } else { magnitude }
    }

    /// The parts of a signed duration in microseconds. `None` if the hours do not fit `u32`.
    pub fn from_micros(micros: i64) -> Option<TimeParts> {
        let magnitude = micros.unsigned_abs();
        let per_hour = MICROS_PER_HOUR.unsigned_abs();
        let per_minute = MICROS_PER_MINUTE.unsigned_abs();
        let per_second = MICROS_PER_SECOND.unsigned_abs();
        Some(TimeParts {
            negative: micros < 0,
            hours: u32::try_from(magnitude / per_hour).ok()?,
            minutes: u8::try_from(magnitude / per_minute % 60).ok()?,
            seconds: u8::try_from(magnitude / per_second % 60).ok()?,
            micros: u32::try_from(magnitude % per_second).ok()?,
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        let parts = DateTimeParts {
            year: 2038,
            month: 1,
            day: 19,
            hour: 3,
            minute: 14,
            second: 7,
            micros: 999_999,
        };
        assert_eq!(parts.to_timestamp_micros(), Some(2_147_483_647_999_999));
        let first = DateTimeParts {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 1,
            micros: 0,
        };
        assert_eq!(first.to_timestamp_micros(), Some(1_000_000));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn zero_and_partly_zero_dates_survive_packing() {
        for parts in [
            DateTimeParts::default(),
            DateTimeParts {
                year: 2020,
                month: 0,
                day: 15,
                ..Default::default()
            },
            DateTimeParts {
                year: 0,
                month: 1,
                day: 0,
                hour: 23,
                minute: 59,
                second: 59,
                micros: 1,
            },
        ] {
            assert_eq!(DateTimeParts::from_packed(parts.to_packed()), Some(parts));
            assert_eq!(
                DateTimeParts::from_yyyymmdd(parts.to_yyyymmdd()).map(|p| p.to_yyyymmdd()),
                Some(parts.to_yyyymmdd())
            );
        }
        let partly_zero = DateTimeParts {
            year: 2020,
            month: 0,
            day: 15,
            ..Default::default()
        };
        assert_eq!(partly_zero.to_timestamp_micros(), None);
    }

    fn datetime_parts() -> impl Strategy<Value = DateTimeParts> {
        (
            0u16..=9999,
            0u8..=12,
            0u8..=31,
            0u8..=23,
            0u8..=59,
            0u8..=59,
            0u32..=999_999,
        )
            .prop_map(
                |(year, month, day, hour, minute, second, micros)| DateTimeParts {
                    year,
                    month,
                    day,
                    hour,
                    minute,
                    second,
                    micros,
                },
            )
    }

    proptest! {
        #[test]
        fn packing_round_trips_and_keeps_order(a in datetime_parts(), b in datetime_parts()) {
            prop_assert_eq!(DateTimeParts::from_packed(a.to_packed()), Some(a));
            let key = |p: DateTimeParts| (p.year, p.month, p.day, p.hour, p.minute, p.second, p.micros);
            prop_assert_eq!(a.to_packed().cmp(&b.to_packed()), key(a).cmp(&key(b)));
        }

        #[test]
        fn instants_round_trip(micros in 1_000_000i64..=253_402_300_799_999_999) {
            let parts = DateTimeParts::from_timestamp_micros(micros).unwrap();
            prop_assert_eq!(parts.to_timestamp_micros(), Some(micros));
        }

        #[test]
        fn durations_round_trip(micros in -3_020_399_999_999i64..=3_020_399_999_999) {
            prop_assert_eq!(TimeParts::from_micros(micros).unwrap().to_micros(), micros);
        }
    }
}

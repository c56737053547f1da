//! Timestamps on the wire: RFC 3339 / XML Schema `dateTimeStamp` (proof `created`) and the
//! HTTP IMF-fixdate (`Date` header), converted to and from Unix seconds without a clock.

/// Why a timestamp string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The string is not an RFC 3339 date-time with a time zone.
    #[error("not an rfc 3339 date-time with time zone: {0:?}")]
    NotRfc3339(String),
    /// The string is not an HTTP IMF-fixdate.
    #[error("not an http imf-fixdate: {0:?}")]
    NotHttpDate(String),
    /// A field is out of range (month 13, second 61, ...).
    #[error("date or time field out of range in {0:?}")]
    OutOfRange(String),
}

/// A parsed RFC 3339 instant: Unix seconds plus the fraction as nanoseconds (fractions finer
/// than a nanosecond are truncated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_seconds: i64,
    /// Sub-second part, 0..1_000_000_000.
    pub nanos: u32,
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, the XML Schema
/// `dateTimeStamp` form Data Integrity requires for `created`. Any number of fraction digits
/// is accepted (Fedify emits nanoseconds); `t`/`z` in lower case are accepted as RFC 3339
/// allows.
pub fn parse_rfc3339(s: &str) -> Result<Instant, TimestampError> {
    let bad = || TimestampError::NotRfc3339(s.to_owned());
    let b = s.as_bytes();
    let digits = |from: usize, len: usize| -> Result<i64, TimestampError> {
        let part = b.get(from..from + len).ok_or_else(bad)?;
        part.iter().try_fold(0i64, |acc, c| {
            if c.is_ascii_digit() {
                Ok(acc * 10 + i64::from(c - b'0'))
            } else {
                Err(bad())
            }
        })
    };
    let expect = |at: usize, allowed: &[u8]| -> Result<(), TimestampError> {
        match b.get(at) {
            Some(c) if allowed.contains(c) => Ok(()),
            _ => Err(bad()),
        }
    };
    let year = digits(0, 4)?;
    expect(4, b"-")?;
    let month = digits(5, 2)?;
    expect(7, b"-")?;
    let day = digits(8, 2)?;
    expect(10, b"Tt")?;
    let hour = digits(11, 2)?;
    expect(13, b":")?;
    let minute = digits(14, 2)?;
    expect(16, b":")?;
    let second = digits(17, 2)?;
    let mut at = 19;
    let mut nanos: u32 = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        let mut scale = 100_000_000u32;
        while let Some(c) = b.get(at).filter(|c| c.is_ascii_digit()) {
            nanos += u32::from(c - b'0') * scale;
            scale /= 10;
            at += 1;
        }
        if at == start {
            return Err(bad());
        }
    }
    let offset_seconds = match b.get(at) {
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == b.len() => {
            let oh = digits(at + 1, 2)?;
            expect(at + 3, b":")?;
            let om = digits(at + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err(TimestampError::OutOfRange(s.to_owned()));
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return Err(bad()),
    };
    let unix = civil_to_unix(year, month, day, hour, minute, second)
        .ok_or_else(|| TimestampError::OutOfRange(s.to_owned()))?;
    Ok(Instant {
        unix_seconds: unix - offset_seconds,
        nanos,
    })
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (the form Punte emits for `created`).
pub fn format_rfc3339(unix_seconds: i64) -> String {
    let (y, mo, d, h, mi, s, _) = unix_to_civil(unix_seconds);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats Unix seconds as an HTTP IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`
/// (RFC 9110 §5.6.7).
pub fn format_http_date(unix_seconds: i64) -> String {
    let (y, mo, d, h, mi, s, wd) = unix_to_civil(unix_seconds);
    let wd = WEEKDAYS.get(wd).copied().unwrap_or("Mon");
    let mon = usize::try_from(mo - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("Jan");
    format!("{wd}, {d:02} {mon} {y:04} {h:02}:{mi:02}:{s:02} GMT")
}

/// Parses an HTTP IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds. The
/// obsolete RFC 850 and asctime forms are refused; the weekday must match the date.
pub fn parse_http_date(s: &str) -> Result<i64, TimestampError> {
    let bad = || TimestampError::NotHttpDate(s.to_owned());
    let mut parts = s.split(' ');
    let mut next = || parts.next().ok_or_else(bad);
    let weekday = next()?.strip_suffix(',').ok_or_else(bad)?;
    let day = next()?;
    let month = next()?;
    let year = next()?;
    let time = next()?;
    if next()? != "GMT" || parts.next().is_some() {
        return Err(bad());
    }
    let num = |t: &str, len: usize| -> Result<i64, TimestampError> {
        if t.len() != len || !t.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<i64>().map_err(|_| bad())
    };
    let day = num(day, 2)?;
    let month = MONTHS.iter().position(|m| *m == month).ok_or_else(bad)? as i64 + 1;
    let year = num(year, 4)?;
    let mut hms = time.split(':');
    let mut field = || hms.next().ok_or_else(bad).and_then(|t| num(t, 2));
    let (hour, minute, second) = (field()?, field()?, field()?);
    if hms.next().is_some() {
        return Err(bad());
    }
    let unix = civil_to_unix(year, month, day, hour, minute, second)
        .ok_or_else(|| TimestampError::OutOfRange(s.to_owned()))?;
    let (.., wd) = unix_to_civil(unix);
    if WEEKDAYS.get(wd) != Some(&weekday) {
        return Err(bad());
    }
    Ok(unix)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_to_unix(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    // Second 60 is a leap second; it is folded onto the next second as POSIX time does.
    let valid = (1..=12).contains(&mo)
        && (1..=days_in_month(y, mo)).contains(&d)
        && (0..=23).contains(&h)
        && (0..=59).contains(&mi)
        && (0..=60).contains(&s);
    valid.then(|| days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// (year, month, day, hour, minute, second, weekday index with Monday = 0).
fn unix_to_civil(t: i64) -> (i64, i64, i64, i64, i64, i64, usize) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // 1970-01-01 was a Thursday (index 3 with Monday = 0).
    let wd = usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60, wd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms() {
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00Z").map(|i| i.unix_seconds),
            Ok(0)
        );
        let ns = parse_rfc3339("2023-02-24T23:36:38.123456789Z");
        assert_eq!(
            ns,
            Ok(Instant {
                unix_seconds: 1_677_281_798,
                nanos: 123_456_789
            })
        );
        assert_eq!(
            parse_rfc3339("2023-02-25T01:36:38+02:00").map(|i| i.unix_seconds),
            Ok(1_677_281_798)
        );
        for bad in [
            "2023-02-24T23:36:38",
            "2023-02-24 23:36:38Z",
            "2023-02-30T00:00:00Z",
            "x",
            "",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        assert_eq!(format_rfc3339(1_677_281_798), "2023-02-24T23:36:38Z");
    }

    #[test]
    fn http_dates() {
        // RFC 9110 §5.6.7 example.
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Ok(784_111_777)
        );
        assert_eq!(
            format_http_date(784_111_777),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert!(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT").is_err());
        assert!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").is_err());
    }
}

//! Formats of ZooKeeper's Java side that reach its users as text: the dates the JVM prints
//! (`java.util.Date.toString()` and the txn log toolkit's `DateFormat`), in UTC. Shared by
//! the server (four-letter words) and the offline tools, so both print the same text.

/// A UTC calendar time broken into fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32, // 1..=12
    day: u32,   // 1..=31
    hour: u32,
    minute: u32,
    second: u32,
    weekday: u32, // 0 = Sunday
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// Milliseconds since the Unix epoch (negative before it) to UTC calendar fields.
fn civil(ms: i64) -> Civil {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (sod / 3600) as u32,
        minute: (sod / 60 % 60) as u32,
        second: (sod % 60) as u32,
        // 1970-01-01 was a Thursday.
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

/// `java.util.Date.toString()` in UTC, for `ms` milliseconds since the Unix epoch:
/// `Sat Nov 21 22:58:31 UTC 2026`.
pub fn date_to_string(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {:04}",
        DAYS[c.weekday as usize],
        MONTHS[(c.month - 1) as usize],
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    )
}

/// ZooKeeper's build-date form (`yyyy-MM-dd HH:mm 'UTC'`), as `srvr` prints it after
/// "built on": `2024-12-29 17:54 UTC`.
pub fn build_date(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// `DateFormat.getDateTimeInstance(SHORT, LONG)` in the US locale and UTC, as the txn log
/// toolkit prints every txn's time: `11/21/26, 10:58:31 PM UTC`.
pub fn short_long_date(ms: i64) -> String {
    let c = civil(ms);
    let h12 = match c.hour % 12 {
        0 => 12,
        h => h,
    };
    format!(
        "{}/{}/{:02}, {}:{:02}:{:02} {} UTC",
        c.month,
        c.day,
        c.year.rem_euclid(100),
        h12,
        c.minute,
        c.second,
        if c.hour < 12 { "AM" } else { "PM" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_dates_read_like_zookeepers() {
        assert_eq!(build_date(1_735_494_840_000), "2024-12-29 17:54 UTC");
    }

    #[test]
    fn dates_match_the_jvm_formats_in_utc() {
        assert_eq!(date_to_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2026-11-21T22:58:31Z
        let t = 1_795_301_911_000;
        assert_eq!(date_to_string(t), "Sat Nov 21 22:58:31 UTC 2026");
        assert_eq!(short_long_date(t), "11/21/26, 10:58:31 PM UTC");
        assert_eq!(short_long_date(0), "1/1/70, 12:00:00 AM UTC");
        assert_eq!(date_to_string(-1000), "Wed Dec 31 23:59:59 UTC 1969");
    }
}

//! The few behaviours of the Java runtime that ZooKeeper's tools leak into their output, so
//! that ours can print the same text: the default date formats (in UTC), the iteration order
//! of `java.util.HashMap`/`HashSet`, and how `new String(bytes, UTF_8)` treats bad bytes.

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

/// `java.util.Date.toString()` in UTC: `Sat Nov 21 22:58:31 UTC 2026`.
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

/// `String.hashCode()`: over UTF-16 units, `h = 31·h + unit`.
pub fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// `Long.hashCode()`.
pub fn long_hash(v: i64) -> i32 {
    let u = v as u64;
    (u ^ (u >> 32)) as u32 as i32
}

/// The order in which a `HashMap`/`HashSet` built by inserting keys with these hash codes,
/// in this order, iterates them. `initial_capacity` is the table size of the first
/// allocation (16 for `new HashMap()`, 8 for `new HashSet(8)`).
///
/// Returns indices into `hashes`. The model covers resizing at the 0.75 load factor and the
/// resize a small table gets when one bucket would hold more than eight keys; buckets that
/// Java turns into trees (only in tables of 64 or more) keep insertion order here, which
/// Java mostly, but not always, does too.
pub fn hash_iteration_order(hashes: &[i32], initial_capacity: usize) -> Vec<usize> {
    let spread = |h: i32| -> usize {
        let u = h as u32;
        (u ^ (u >> 16)) as usize
    };
    let mut cap = initial_capacity.max(1).next_power_of_two();
    let mut counts: Vec<usize> = vec![0; cap];
    for (n, &h) in hashes.iter().enumerate() {
        let b = spread(h) & (cap - 1);
        counts[b] += 1;
        let size = n + 1;
        // A ninth key in one bucket of a table smaller than 64 makes Java resize instead of
        // building a tree; so does passing the load factor.
        let crowded = counts[b] > 8 && cap < 64;
        if size > cap * 3 / 4 || crowded {
            cap *= 2;
            counts = vec![0; cap];
            for &h in &hashes[..size] {
                counts[spread(h) & (cap - 1)] += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..hashes.len()).collect();
    order.sort_by_key(|&i| spread(hashes[i]) & (cap - 1));
    order
}

/// `new String(bytes, UTF_8)`: invalid sequences become U+FFFD.
pub fn lossy_utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn java_hash_codes() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("zookeeper"), 1_600_681_804);
        assert_eq!(string_hash("a"), 97);
        assert_eq!(string_hash("ab"), 97 * 31 + 98);
        assert_eq!(long_hash(1), 1);
        assert_eq!(long_hash(1 << 32), 1);
    }

    #[test]
    fn hash_order_is_bucket_then_insertion() {
        // Hashes 17 and 1 share bucket 1 in a table of 16; 2 goes to bucket 2.
        assert_eq!(hash_iteration_order(&[2, 17, 1], 16), vec![1, 2, 0]);
        // Seven keys in a HashSet(8) resize the table to 16.
        let h: Vec<i32> = (0..7).map(|i| i * 8).collect();
        assert_eq!(hash_iteration_order(&h, 8), vec![0, 2, 4, 6, 1, 3, 5]);
    }
}

//! The few behaviours of the Java runtime that ZooKeeper's tools leak into their output, so
//! that ours can print the same text: the default date formats (in UTC, from
//! [`warren_proto::java`], which the server shares), the iteration order of
//! `java.util.HashMap`/`HashSet`, and how `new String(bytes, UTF_8)` treats bad bytes.

// The default date formats live in `warren_proto::java`, shared with the server.
pub use warren_proto::java::{date_to_string, short_long_date};

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

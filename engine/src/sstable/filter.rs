//! Bloom filters over user keys, one per table.
//!
//! A point lookup checks the filter before touching any data block, so a key that is not
//! in a table usually costs no block read at all. Probes use double hashing of one 64-bit
//! xxh3 hash: bit_i = (h1 + i·h2) mod m, with h1 and h2 the two 32-bit halves.

/// Hash of a user key as used by the filter.
#[inline]
pub fn hash_key(user_key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(user_key)
}

/// Number of probes for `bits_per_key` (≈ bits · ln 2, the optimum), within 1..=30.
fn probes(bits_per_key: u32) -> u8 {
    ((bits_per_key as f64 * 0.69) as u32).clamp(1, 30) as u8
}

/// Builds a filter over `hashes`: the bit array followed by one byte of probe count.
pub fn build(hashes: &[u64], bits_per_key: u32) -> Vec<u8> {
    let k = probes(bits_per_key);
    let bits = (hashes.len() as u64 * u64::from(bits_per_key)).max(64);
    let bytes = bits.div_ceil(8) as usize;
    let m = (bytes * 8) as u64;
    let mut out = vec![0u8; bytes + 1];
    for &h in hashes {
        let h1 = h & 0xffff_ffff;
        let h2 = (h >> 32) | 1;
        for i in 0..u64::from(k) {
            let bit = (h1.wrapping_add(i.wrapping_mul(h2))) % m;
            out[(bit / 8) as usize] |= 1 << (bit % 8);
        }
    }
    out[bytes] = k;
    out
}

/// Whether the key with hash `h` may be in the set (false means it is certainly not).
/// An empty or unrecognised filter answers true, so it can only cost a read, never lose one.
#[inline]
pub fn may_contain(filter: &[u8], h: u64) -> bool {
    let Some((&k, bits)) = filter.split_last() else {
        return true;
    };
    if bits.is_empty() || k == 0 || k > 30 {
        return true;
    }
    let m = (bits.len() * 8) as u64;
    let h1 = h & 0xffff_ffff;
    let h2 = (h >> 32) | 1;
    for i in 0..u64::from(k) {
        let bit = (h1.wrapping_add(i.wrapping_mul(h2))) % m;
        if bits[(bit / 8) as usize] & (1 << (bit % 8)) == 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let hashes: Vec<u64> = (0..10_000u32)
            .map(|i| hash_key(format!("in{i}").as_bytes()))
            .collect();
        let f = build(&hashes, 10);
        assert!(hashes.iter().all(|&h| may_contain(&f, h)));
        let fp = (0..10_000u32)
            .filter(|i| may_contain(&f, hash_key(format!("out{i}").as_bytes())))
            .count();
        assert!(fp < 250, "false positive rate too high: {fp}/10000");
        assert!(may_contain(&[], 1));
    }
}

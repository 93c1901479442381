//! The bucketing every Unleash SDK uses, reproduced exactly so that a user lands in the same
//! bucket here as in any SDK: MurmurHash3 (x86, 32-bit) of `groupId:id` over its UTF-8 bytes.

use std::io::Cursor;

const STRATEGY_SEED: u32 = 0;
const VARIANT_SEED: u32 = 86_028_157;

fn hash(group_id: &str, id: &str, seed: u32) -> u32 {
    let key = format!("{group_id}:{id}");
    // Reading from an in-memory cursor cannot fail.
    murmur3::murmur3_32(&mut Cursor::new(key.as_bytes()), seed).unwrap_or(0)
}

/// A bucket from 1 to 100 for rollouts.
pub fn strategy_bucket(group_id: &str, id: &str) -> u32 {
    hash(group_id, id, STRATEGY_SEED) % 100 + 1
}

/// A position from 1 to `total_weight` for choosing a variant. `total_weight` must be positive.
pub fn variant_position(group_id: &str, id: &str, total_weight: u32) -> u32 {
    hash(group_id, id, VARIANT_SEED) % total_weight + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_the_reference_vector() {
        let hashed = murmur3::murmur3_32(&mut Cursor::new(b"hello".as_slice()), 0).unwrap();
        assert_eq!(hashed, 613_153_351);
    }

    #[test]
    fn buckets_stay_in_range() {
        for id in 0..1000 {
            assert!((1..=100).contains(&strategy_bucket("g", &id.to_string())));
            assert!((1..=7).contains(&variant_position("g", &id.to_string(), 7)));
        }
    }
}

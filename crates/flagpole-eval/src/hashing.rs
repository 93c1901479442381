//! The bucketing every Unleash SDK uses, reproduced exactly so that a user lands in the same
//! bucket here as in any SDK: MurmurHash3 (x86, 32-bit) of `groupId:id` over its UTF-8 bytes,
//! seed 0 for rollouts and 86028157 for variants. Also owns the randomness of the `random`
//! stickiness, which needs no quality beyond being uniform enough.

use std::hash::BuildHasher;

const STRATEGY_SEED: u32 = 0;
const VARIANT_SEED: u32 = 86_028_157;

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// MurmurHash3 x86 32-bit over the concatenation of `parts`, without building the key: the
/// evaluation hot path hashes `groupId`, `:` and the id straight from where they live.
pub fn murmur3_32(parts: &[&[u8]], seed: u32) -> u32 {
    let mut hash = seed;
    let mut block = [0u8; 4];
    let mut filled = 0;
    let mut length: u32 = 0;
    for part in parts {
        // Lengths above 4 GiB wrap, as the reference implementation's `len` does.
        length = length.wrapping_add(part.len() as u32);
        for &byte in *part {
            block[filled] = byte;
            filled += 1;
            if filled == 4 {
                hash ^= scramble(u32::from_le_bytes(block));
                hash = hash
                    .rotate_left(13)
                    .wrapping_mul(5)
                    .wrapping_add(0xe654_6b64);
                filled = 0;
            }
        }
    }
    if filled > 0 {
        let mut tail = 0u32;
        for (i, byte) in block[..filled].iter().enumerate() {
            tail |= u32::from(*byte) << (8 * i);
        }
        hash ^= scramble(tail);
    }
    hash ^= length;
    hash ^= hash >> 16;
    hash = hash.wrapping_mul(0x85eb_ca6b);
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(0xc2b2_ae35);
    hash ^ (hash >> 16)
}

fn scramble(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn hash(group_id: &str, id: &str, seed: u32) -> u32 {
    murmur3_32(&[group_id.as_bytes(), b":", id.as_bytes()], seed)
}

/// A bucket from 1 to 100 for rollouts.
pub fn strategy_bucket(group_id: &str, id: &str) -> u32 {
    hash(group_id, id, STRATEGY_SEED) % 100 + 1
}

/// A position from 1 to `total_weight` for choosing a variant; `total_weight` must be positive.
pub fn variant_position(group_id: &str, id: &str, total_weight: u32) -> u32 {
    hash(group_id, id, VARIANT_SEED) % total_weight.max(1) + 1
}

/// A random number from 1 to `max` (positive). Each std `RandomState` gets fresh keys, seeded
/// once per thread by the standard library, which keeps this crate free of a random-number
/// dependency and of any I/O of its own.
pub fn random_up_to(max: u32) -> u32 {
    let random = std::collections::hash_map::RandomState::new().hash_one(0u8);
    (random % u64::from(max.max(1))) as u32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_reference_vectors() {
        // Vectors of the reference implementation (SMHasher), as the `murmur3` crate tests them.
        assert_eq!(murmur3_32(&[b""], 0), 0);
        assert_eq!(murmur3_32(&[b""], 1), 0x514e_28b7);
        assert_eq!(murmur3_32(&[b"hello"], 0), 613_153_351);
        assert_eq!(murmur3_32(&[b"Hello, world!"], 1234), 0xfaf6_cdb3);
        assert_eq!(
            murmur3_32(&[b"The quick brown fox jumps over the lazy dog"], 0),
            0x2e4f_f723
        );
        // Splitting the input anywhere gives the same hash.
        let text = b"The quick brown fox jumps over the lazy dog";
        for cut in 0..text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(murmur3_32(&[a, b], 7), murmur3_32(&[text], 7));
        }
    }

    #[test]
    fn buckets_stay_in_range() {
        for id in 0..1000 {
            assert!((1..=100).contains(&strategy_bucket("g", &id.to_string())));
            assert!((1..=7).contains(&variant_position("g", &id.to_string(), 7)));
            assert!((1..=100).contains(&random_up_to(100)));
        }
    }

    #[test]
    fn randomness_varies() {
        let draws: std::collections::HashSet<u32> = (0..200).map(|_| random_up_to(100)).collect();
        assert!(draws.len() > 20);
    }
}

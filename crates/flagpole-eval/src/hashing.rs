//! The bucketing every Unleash SDK uses, reproduced exactly so that a user lands in the same
//! bucket here as in any SDK: MurmurHash3 (x86, 32-bit) of `groupId:id` over its UTF-8 bytes,
//! seed 0 for rollouts and 86028157 for variants. Also owns the randomness of the `random`
//! stickiness, which needs no quality beyond being uniform enough.

use std::hash::BuildHasher;

const STRATEGY_SEED: u32 = 0;
const VARIANT_SEED: u32 = 86_028_157;

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// MurmurHash3 x86 32-bit over the concatenation of `parts`, without building the key.
pub fn murmur3_32(parts: &[&[u8]], seed: u32) -> u32 {
    let mut state = Murmur3::new(seed);
    for part in parts {
        state.write(part);
    }
    state.finish()
}

/// A MurmurHash3 x86 32-bit computation that can be paused: a rollout's `groupId:` prefix is
/// hashed once at compile time and only the id is hashed per evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Murmur3 {
    hash: u32,
    /// Bytes not yet forming a whole 4-byte block, little-endian in a register: assembling them
    /// in a byte array and reading it back as a word stalls store forwarding.
    pending: u32,
    pending_len: u32,
    /// Lengths above 4 GiB wrap, as the reference implementation's `len` does.
    length: u32,
}

impl Murmur3 {
    pub fn new(seed: u32) -> Self {
        Murmur3 {
            hash: seed,
            pending: 0,
            pending_len: 0,
            length: 0,
        }
    }

    #[inline]
    fn block(&mut self, block: u32) {
        self.hash ^= scramble(block);
        self.hash = self
            .hash
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }

    #[inline]
    pub fn write(&mut self, mut bytes: &[u8]) {
        self.length = self.length.wrapping_add(bytes.len() as u32);
        while self.pending_len > 0 {
            let Some((&byte, rest)) = bytes.split_first() else {
                return;
            };
            self.pending |= u32::from(byte) << (8 * self.pending_len);
            bytes = rest;
            self.pending_len += 1;
            if self.pending_len == 4 {
                self.block(self.pending);
                self.pending = 0;
                self.pending_len = 0;
            }
        }
        let mut blocks = bytes.chunks_exact(4);
        for block in &mut blocks {
            self.block(u32::from_le_bytes([block[0], block[1], block[2], block[3]]));
        }
        for &byte in blocks.remainder() {
            self.pending |= u32::from(byte) << (8 * self.pending_len);
            self.pending_len += 1;
        }
    }

    #[inline]
    pub fn finish(self) -> u32 {
        let mut hash = self.hash;
        if self.pending_len > 0 {
            hash ^= scramble(self.pending);
        }
        hash ^= self.length;
        hash ^= hash >> 16;
        hash = hash.wrapping_mul(0x85eb_ca6b);
        hash ^= hash >> 13;
        hash = hash.wrapping_mul(0xc2b2_ae35);
        hash ^ (hash >> 16)
    }
}

fn scramble(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

/// The hashing group of a rollout or a variant set, with `groupId:` already hashed.
#[derive(Debug, Clone, Copy)]
pub struct Group(Murmur3);

impl Group {
    fn new(group_id: &str, seed: u32) -> Group {
        let mut state = Murmur3::new(seed);
        state.write(group_id.as_bytes());
        state.write(b":");
        Group(state)
    }

    /// For rollouts (seed 0).
    pub fn strategy(group_id: &str) -> Group {
        Group::new(group_id, STRATEGY_SEED)
    }

    /// For variants (seed 86028157).
    pub fn variant(group_id: &str) -> Group {
        Group::new(group_id, VARIANT_SEED)
    }

    fn hash(&self, id: &str) -> u32 {
        let mut state = self.0;
        state.write(id.as_bytes());
        state.finish()
    }

    /// A bucket from 1 to 100 for rollouts.
    pub fn bucket(&self, id: &str) -> u32 {
        self.hash(id) % 100 + 1
    }

    /// A position from 1 to `total_weight` for choosing a variant.
    pub fn position(&self, id: &str, total_weight: u32) -> u32 {
        self.hash(id) % total_weight.max(1) + 1
    }
}

/// A bucket from 1 to 100 for rollouts.
pub fn strategy_bucket(group_id: &str, id: &str) -> u32 {
    Group::strategy(group_id).bucket(id)
}

/// A position from 1 to `total_weight` for choosing a variant; `total_weight` must be positive.
pub fn variant_position(group_id: &str, id: &str, total_weight: u32) -> u32 {
    Group::variant(group_id).position(id, total_weight)
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
            for second in cut..text.len() {
                let (b, c) = b.split_at(second - cut);
                assert_eq!(murmur3_32(&[a, b, c], 7), murmur3_32(&[text], 7));
            }
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

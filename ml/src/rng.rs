//! A small seeded generator whose whole state is two numbers, so a checkpoint can carry it and
//! a resumed run draws exactly what an uninterrupted one would. candle's own CPU generator cannot
//! be seeded, and `rand`'s `StdRng` does not promise a stable stream across versions.

use serde::{Deserialize, Serialize};

/// xoshiro128++-style generator over 64-bit words (xorshift128+ core), seeded through SplitMix64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeededRng {
    s0: u64,
    s1: u64,
}

impl SeededRng {
    /// A generator for `seed`; different streams of one seed come from different `stream` values.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut x = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let (s0, s1) = (next(), next());
        Self { s0, s1: if s0 == 0 && s1 == 0 { 1 } else { s1 } }
    }

    /// The state, for checkpoints.
    pub fn state(&self) -> [u64; 2] {
        [self.s0, self.s1]
    }

    /// A generator continuing from a saved state.
    pub fn from_state(state: [u64; 2]) -> Self {
        Self { s0: state[0], s1: state[1] }
    }

    /// The next 64 random bits (xoroshiro128++).
    pub fn next_u64(&mut self) -> u64 {
        let (s0, mut s1) = (self.s0, self.s1);
        let result = s0.wrapping_add(s1).rotate_left(17).wrapping_add(s0);
        s1 ^= s0;
        self.s0 = s0.rotate_left(49) ^ s1 ^ (s1 << 21);
        self.s1 = s1.rotate_left(28);
        result
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n), without modulo bias worth speaking of for n far below 2^64.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in [-bound, bound).
    pub fn symmetric(&mut self, bound: f64) -> f64 {
        (self.next_f64() * 2.0 - 1.0) * bound
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_state_continues_the_same_stream() {
        let mut a = SeededRng::new(7, 1);
        a.next_u64();
        let mut b = SeededRng::from_state(a.state());
        assert_eq!(
            (0..10).map(|_| a.next_u64()).collect::<Vec<_>>(),
            (0..10).map(|_| b.next_u64()).collect::<Vec<_>>()
        );
        assert_ne!(SeededRng::new(7, 1).next_u64(), SeededRng::new(7, 2).next_u64());
    }

    #[test]
    fn uniform_draws_stay_in_range() {
        let mut rng = SeededRng::new(1, 0);
        for _ in 0..1000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
            assert!(rng.below(3) < 3);
        }
    }
}

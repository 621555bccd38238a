//! Seeded random tensors. The generator is xoshiro256** seeded through splitmix64, so a seed
//! gives the same tensor on every machine and every run.

use crate::{numel_of, with_dtype, DType, Elem, Result, Tensor, TensorError};

/// The generator behind random tensors and `std.random` (which adds ranges and sampling on
/// top): what a seed gives is part of both modules' contracts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e3779b97f4a7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
            z ^ (z >> 31)
        };
        Rng { s: [next(), next(), next(), next()] }
    }

    pub fn next_u64(&mut self) -> u64 {
        let r = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller; the second value of each pair is discarded for simplicity
    /// of reproduction).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform integer in [lo, hi), without modulo bias.
    pub fn below(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi as i128 - lo as i128) as u128 as u64;
        let zone = u64::MAX - (u64::MAX % span);
        loop {
            let r = self.next_u64();
            if r < zone {
                return (lo as i128 + (r % span) as i128) as i64;
            }
        }
    }
}

fn float_dtype(dtype: DType, what: &str) -> Result<DType> {
    if dtype.is_float() {
        Ok(dtype)
    } else {
        Err(TensorError::arg(format!("{what} makes float tensors (f32 or f64), not {}", dtype.name())))
    }
}

/// A float tensor of `shape` filled with `sample(rng)` draws from a generator seeded by `seed`.
fn sampled(shape: &[usize], seed: u64, dtype: DType, what: &str, sample: fn(&mut Rng) -> f64) -> Result<Tensor> {
    let dtype = float_dtype(dtype, what)?;
    crate::check_alloc(shape, dtype)?;
    let n = numel_of(shape)?;
    let mut rng = Rng::new(seed);
    let data = with_dtype!(dtype, T => T::wrap((0..n).map(|_| T::from_f64(sample(&mut rng))).collect()));
    Tensor::from_data(data, shape.to_vec())
}

/// Uniform samples in [0, 1).
pub fn rand(shape: &[usize], seed: u64, dtype: DType) -> Result<Tensor> {
    sampled(shape, seed, dtype, "rand", Rng::uniform)
}

/// Standard normal samples.
pub fn randn(shape: &[usize], seed: u64, dtype: DType) -> Result<Tensor> {
    sampled(shape, seed, dtype, "randn", Rng::normal)
}

/// Uniform integers in [lo, hi).
pub fn randint(lo: i64, hi: i64, shape: &[usize], seed: u64) -> Result<Tensor> {
    if hi <= lo {
        return Err(TensorError::arg(format!("randint: the range [{lo}, {hi}) is empty")));
    }
    crate::check_alloc(shape, DType::I64)?;
    let n = numel_of(shape)?;
    let mut rng = Rng::new(seed);
    Tensor::from_vec((0..n).map(|_| rng.below(lo, hi)).collect::<Vec<i64>>(), shape.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_in_range() {
        let a = rand(&[100], 7, DType::F64).unwrap().to_vec::<f64>();
        assert_eq!(a, rand(&[100], 7, DType::F64).unwrap().to_vec::<f64>());
        assert!(a.iter().all(|&x| (0.0..1.0).contains(&x)));
        let r = randint(-3, 3, &[1000], 1).unwrap().to_vec::<i64>();
        assert!(r.iter().all(|&x| (-3..3).contains(&x)));
        assert!(r.contains(&-3) && r.contains(&2));
        let n = randn(&[10000], 3, DType::F64).unwrap().to_vec::<f64>();
        let mean = n.iter().sum::<f64>() / 1e4;
        assert!(mean.abs() < 0.05);
    }
}

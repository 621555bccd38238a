//! Reductions over all elements or over given axes, with `keepdims`.
//!
//! A reduction over one axis sees the tensor as `(outer, len, inner)`: with `inner == 1` each
//! output is a reduction of one contiguous row; otherwise whole rows of `inner` outputs are
//! combined at once, which vectorises. Several axes are reduced one after another.

use crate::kernels::{self, Num, PAR_MIN};
use crate::{norm_axis, shape_str, DType, Result, Tensor, TensorError};
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    Mean,
    Var,
    Std,
    ArgMin,
    ArgMax,
    Any,
    All,
}

impl ReduceOp {
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Mean => "mean",
            ReduceOp::Var => "var",
            ReduceOp::Std => "std",
            ReduceOp::ArgMin => "argmin",
            ReduceOp::ArgMax => "argmax",
            ReduceOp::Any => "any",
            ReduceOp::All => "all",
        }
    }
    pub fn result_dtype(self, a: DType) -> DType {
        match self {
            ReduceOp::Sum | ReduceOp::Prod => a.max(DType::I64),
            ReduceOp::Min | ReduceOp::Max => a,
            ReduceOp::Mean | ReduceOp::Var | ReduceOp::Std => a.float_of(),
            ReduceOp::ArgMin | ReduceOp::ArgMax => DType::I64,
            ReduceOp::Any | ReduceOp::All => DType::Bool,
        }
    }
}

/// The basic reductions every other one is built from.
#[derive(Clone, Copy, PartialEq)]
enum Basic {
    Sum,
    Prod,
    Min,
    Max,
}

/// `axes` normalised, sorted and without repeats; `None` means all.
fn axes_of(a: &Tensor, axes: Option<&[i64]>) -> Result<Vec<usize>> {
    let mut out = match axes {
        None => (0..a.ndim()).collect(),
        Some(ax) => ax.iter().map(|&x| norm_axis(x, a.ndim())).collect::<Result<Vec<_>>>()?,
    };
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn out_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, &d) in shape.iter().enumerate() {
        if axes.contains(&i) {
            if keepdims {
                out.push(1);
            }
        } else {
            out.push(d);
        }
    }
    out
}

/// `acc[j] = acc[j] op row[j]`, with the operation chosen outside the loop so it vectorises.
fn fold_row<T: Num>(acc: &mut [T], row: &[T], op: Basic) {
    let pairs = acc.iter_mut().zip(row);
    match op {
        Basic::Sum => pairs.for_each(|(d, &x)| *d = d.add(x)),
        Basic::Prod => pairs.for_each(|(d, &x)| *d = d.mul(x)),
        Basic::Min => pairs.for_each(|(d, &x)| *d = d.min_of(x)),
        Basic::Max => pairs.for_each(|(d, &x)| *d = d.max_of(x)),
    }
}

/// How many output columns one parallel task owns: about four tasks per thread, in multiples of
/// eight so the inner loop vectorises.
fn block_cols(inner: usize) -> usize {
    if inner == 1 {
        return 1;
    }
    let per = inner.div_ceil(4 * rayon::current_num_threads());
    per.next_multiple_of(8).clamp(64, 4096)
}

/// Runs `task(o, j0, dst)` over the output `(outer, inner)` of a reduction along an axis of
/// length `len`: each call owns the columns `j0..j0 + dst.len()` of outer index `o`. Large
/// reductions split rows, and wide rows split into column blocks, across threads.
fn run_blocks<U: Send>(out: &mut [U], outer: usize, inner: usize, len: usize, task: impl Fn(usize, usize, &mut [U]) + Sync) {
    let cols = block_cols(inner);
    if outer * inner * len >= PAR_MIN && outer * inner > 0 {
        out.par_chunks_mut(inner.max(1)).enumerate().for_each(|(o, row)| {
            if inner == 1 {
                task(o, 0, row);
            } else {
                row.par_chunks_mut(cols).enumerate().for_each(|(c, dst)| task(o, c * cols, dst));
            }
        });
    } else if inner > 0 {
        for (o, row) in out.chunks_mut(inner).enumerate() {
            task(o, 0, row);
        }
    }
}

/// Reduces `a` (contiguous, element type `T`) over one axis, keeping it with length 1. The
/// buffer is read in place. Work is split across threads by output blocks: each task owns a
/// run of `inner` columns of one outer index (or one row when `inner == 1`).
fn reduce_axis<T: Num>(a: &Tensor, axis: usize, op: Basic) -> Result<Tensor> {
    let shape = a.shape();
    let len = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let guard = a.buffer().read();
    let src = &T::slice(&guard)[a.offset()..a.offset() + a.numel()];
    let init = match op {
        Basic::Sum => T::zero(),
        Basic::Prod => T::one(),
        Basic::Min => T::highest(),
        Basic::Max => T::lowest(),
    };
    // reducing the leading axis of a wide tensor: each thread streams a band of rows into its
    // own accumulator row (reading memory in order), then the bands are combined
    if outer == 1 && inner > 1 && len >= 4 && len * inner >= PAR_MIN {
        let bands = (2 * rayon::current_num_threads()).clamp(1, len);
        let per = len.div_ceil(bands);
        let partials: Vec<Vec<T>> = (0..bands)
            .into_par_iter()
            .map(|p| {
                let mut acc = vec![init; inner];
                for k in p * per..((p + 1) * per).min(len) {
                    fold_row(&mut acc, &src[k * inner..(k + 1) * inner], op);
                }
                acc
            })
            .collect();
        let mut out = vec![init; inner];
        for part in partials {
            fold_row(&mut out, &part, op);
        }
        drop(guard);
        let mut kept = shape.to_vec();
        kept[axis] = 1;
        return Tensor::from_vec(out, kept);
    }
    let mut out = vec![init; outer * inner];
    // one task: the outputs `dst` = columns `j0..j0 + dst.len()` of outer index `o`
    let task = |o: usize, j0: usize, dst: &mut [T]| {
        let base = o * len * inner;
        if inner == 1 {
            dst[0] = row_reduce(&src[base..base + len], init, op);
        } else {
            for k in 0..len {
                fold_row(dst, &src[base + k * inner + j0..base + k * inner + j0 + dst.len()], op);
            }
        }
    };
    run_blocks(&mut out, outer, inner, len, task);
    drop(guard);
    let mut kept = shape.to_vec();
    kept[axis] = 1;
    Tensor::from_vec(out, kept)
}

/// One contiguous row, with eight accumulators so the loop vectorises (and sums pairwise-ish,
/// which is more accurate than a single running total). Large rows are split across threads.
fn row_reduce<T: Num>(row: &[T], init: T, op: Basic) -> T {
    match op {
        Basic::Sum => lanes(row, init, |a: T, x: T| a.add(x)),
        Basic::Prod => lanes(row, init, |a: T, x: T| a.mul(x)),
        Basic::Min => lanes(row, init, |a: T, x: T| a.min_of(x)),
        Basic::Max => lanes(row, init, |a: T, x: T| a.max_of(x)),
    }
}

fn lanes<T: Num>(row: &[T], init: T, step: impl Fn(T, T) -> T + Copy + Sync + Send) -> T {
    if row.len() >= PAR_MIN * 4 {
        return row.par_chunks(PAR_MIN).map(|c| lanes(c, init, step)).reduce(|| init, step);
    }
    let mut acc = [init; 8];
    let chunks = row.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            acc[k] = step(acc[k], c[k]);
        }
    }
    let mut total = init;
    for a in acc {
        total = step(total, a);
    }
    for &x in rest {
        total = step(total, x);
    }
    total
}

fn basic(a: &Tensor, axes: &[usize], op: Basic) -> Result<Tensor> {
    // bools reduce as integers; `reduce` converts min/max back to the input's type
    let dt = a.dtype().max(DType::I64);
    let mut t = a.astype(dt).contiguous();
    for &ax in axes {
        t = match dt {
            DType::F32 => reduce_axis::<f32>(&t, ax, op)?,
            DType::F64 => reduce_axis::<f64>(&t, ax, op)?,
            _ => reduce_axis::<i64>(&t, ax, op)?,
        };
    }
    Ok(t)
}

/// The index of the smallest (or largest) element along one axis; the first one on ties, and
/// a NaN counts as the extreme, as in NumPy. Reads the buffer in place, in parallel.
fn arg_axis<T: Num>(a: &Tensor, axis: usize, want_max: bool) -> Result<Tensor> {
    let shape = a.shape();
    let len = shape[axis];
    if len == 0 {
        return Err(TensorError::shape(format!("{}: axis {axis} of shape {} is empty", if want_max { "argmax" } else { "argmin" }, shape_str(shape))));
    }
    let a = a.contiguous();
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let guard = a.buffer().read();
    let src = &T::slice(&guard)[a.offset()..a.offset() + a.numel()];
    // `x != x` is the NaN test for every element type
    #[allow(clippy::eq_op)]
    let better = |x: T, best: T| {
        if best != best {
            return false;
        }
        if x != x {
            return true;
        }
        if want_max { x > best } else { x < best }
    };
    let mut out = vec![0i64; outer * inner];
    let task = |o: usize, j0: usize, dst: &mut [i64]| {
        let base = o * len * inner;
        if inner == 1 {
            // the extreme first (a vectorised pass; NaN propagates), then its first position
            dst[0] = arg_row(&src[base..base + len], want_max) as i64;
        } else {
            let w = dst.len();
            let mut best: Vec<T> = src[base + j0..base + j0 + w].to_vec();
            for k in 1..len {
                let row = &src[base + k * inner + j0..base + k * inner + j0 + w];
                for j in 0..w {
                    if better(row[j], best[j]) {
                        best[j] = row[j];
                        dst[j] = k as i64;
                    }
                }
            }
        }
    };
    run_blocks(&mut out, outer, inner, len, task);
    drop(guard);
    let mut kept = shape.to_vec();
    kept[axis] = 1;
    Tensor::from_vec(out, kept)
}

/// The position of the first extreme of a non-empty row (the first NaN when there is one). One
/// vectorised pass over blocks finds each block's extreme and the NaN flag; only the winning
/// block is searched for the position.
fn arg_row<T: Num>(row: &[T], want_max: bool) -> usize {
    const BLOCK: usize = 512;
    let pick = |a: T, x: T| if want_max { if x > a { x } else { a } } else if x < a { x } else { a };
    let mut best = row[0];
    let mut best_block = 0;
    let mut nan = false;
    for (b, blk) in row.chunks(BLOCK).enumerate() {
        let m = if want_max { lanes(blk, blk[0], |a: T, x: T| if x > a { x } else { a }) } else { lanes(blk, blk[0], |a: T, x: T| if x < a { x } else { a }) };
        #[allow(clippy::eq_op)]
        let has_nan = blk.iter().fold(false, |n, &x| n | (x != x));
        nan |= has_nan;
        // strictly better: an equal extreme in a later block does not win (first occurrence)
        if pick(best, m) != best {
            best = m;
            best_block = b;
        }
    }
    #[allow(clippy::eq_op)]
    if nan {
        return row.iter().position(|&x| x != x).unwrap_or(0);
    }
    let start = best_block * BLOCK;
    start + row[start..].iter().position(|&x| x == best).unwrap_or(0)
}

/// `arg_axis` for any element type (bools compare as 0 and 1).
fn arg_of(a: &Tensor, axis: usize, want_max: bool) -> Result<Tensor> {
    match a.dtype() {
        DType::F32 => arg_axis::<f32>(a, axis, want_max),
        DType::F64 => arg_axis::<f64>(a, axis, want_max),
        DType::I64 => arg_axis::<i64>(a, axis, want_max),
        DType::Bool => arg_axis::<i64>(&a.astype(DType::I64), axis, want_max),
    }
}

/// Reduces over `axes` (all when `None`). The result always has the kept axes as length 1;
/// without `keepdims` they are removed.
pub fn reduce(op: ReduceOp, a: &Tensor, axes: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
    let ax = axes_of(a, axes)?;
    let shape = out_shape(a.shape(), &ax, keepdims);
    let count: usize = ax.iter().map(|&i| a.shape()[i]).product();
    let kept = match op {
        ReduceOp::Sum => basic(a, &ax, Basic::Sum)?,
        ReduceOp::Prod => basic(a, &ax, Basic::Prod)?,
        ReduceOp::Min | ReduceOp::Max => {
            if count == 0 {
                return Err(TensorError::shape(format!("{} of an empty tensor (shape {}) has no value", op.name(), shape_str(a.shape()))));
            }
            let r = basic(a, &ax, if op == ReduceOp::Min { Basic::Min } else { Basic::Max })?;
            r.astype(a.dtype())
        }
        ReduceOp::Any => basic(&a.astype(DType::Bool), &ax, Basic::Max)?.astype(DType::Bool),
        ReduceOp::All => basic(&a.astype(DType::Bool), &ax, Basic::Min)?.astype(DType::Bool),
        ReduceOp::Mean => {
            let ft = a.dtype().float_of();
            let s = basic(&a.astype(ft), &ax, Basic::Sum)?;
            kernels::binary_scalar(kernels::BinOp::Div, &s, crate::Scalar::Float(count as f64), false)?
        }
        ReduceOp::Var | ReduceOp::Std => {
            let ft = a.dtype().float_of();
            let x = a.astype(ft);
            let mean = reduce(ReduceOp::Mean, &x, axes, true)?;
            let d = kernels::binary(kernels::BinOp::Sub, &x, &mean)?;
            let sq = kernels::binary(kernels::BinOp::Mul, &d, &d)?;
            let v = reduce(ReduceOp::Mean, &sq, axes, true)?;
            if op == ReduceOp::Std {
                kernels::unary(kernels::UnOp::Sqrt, &v)?
            } else {
                v
            }
        }
        ReduceOp::ArgMin | ReduceOp::ArgMax => {
            let want_max = op == ReduceOp::ArgMax;
            if a.numel() == 0 {
                return Err(TensorError::shape(format!("{} of an empty tensor (shape {}) has no value", op.name(), shape_str(a.shape()))));
            }
            match axes {
                None => {
                    let flat = a.reshape(&[-1])?;
                    let r = arg_of(&flat, 0, want_max)?;
                    let shape = if keepdims { vec![1; a.ndim()] } else { vec![] };
                    return r.reshape(&shape.iter().map(|&d| d as i64).collect::<Vec<_>>());
                }
                Some(list) if list.len() == 1 => {
                    let axis = norm_axis(list[0], a.ndim())?;
                    arg_of(a, axis, want_max)?
                }
                Some(_) => return Err(TensorError::arg(format!("{} takes a single axis", op.name()))),
            }
        }
    };
    kept.reshape(&shape.iter().map(|&d| d as i64).collect::<Vec<_>>())
}

/// `exp(x - max) / sum(exp(x - max))` along an axis (stable for large inputs).
pub fn softmax(a: &Tensor, axis: i64) -> Result<Tensor> {
    let x = a.astype(a.dtype().float_of());
    let m = reduce(ReduceOp::Max, &x, Some(&[axis]), true)?;
    let e = kernels::unary(kernels::UnOp::Exp, &kernels::binary(kernels::BinOp::Sub, &x, &m)?)?;
    let s = reduce(ReduceOp::Sum, &e, Some(&[axis]), true)?;
    kernels::binary(kernels::BinOp::Div, &e, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_over_axes() {
        let a = Tensor::arange(0.0, 6.0, 1.0, DType::F64).unwrap().reshape(&[2, 3]).unwrap();
        assert_eq!(reduce(ReduceOp::Sum, &a, None, false).unwrap().to_vec::<f64>(), vec![15.0]);
        let s0 = reduce(ReduceOp::Sum, &a, Some(&[0]), false).unwrap();
        assert_eq!((s0.shape().to_vec(), s0.to_vec::<f64>()), (vec![3], vec![3.0, 5.0, 7.0]));
        let s1 = reduce(ReduceOp::Sum, &a, Some(&[1]), true).unwrap();
        assert_eq!((s1.shape().to_vec(), s1.to_vec::<f64>()), (vec![2, 1], vec![3.0, 12.0]));
        let am = reduce(ReduceOp::ArgMax, &a, Some(&[0]), false).unwrap();
        assert_eq!(am.to_vec::<i64>(), vec![1, 1, 1]);
        let v = reduce(ReduceOp::Var, &a, None, false).unwrap();
        assert!((v.to_vec::<f64>()[0] - 35.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn arg_extremes_take_the_first_and_nan_wins() {
        let naive = |row: &[f64], want_max: bool| {
            let mut bi = 0;
            for (i, &x) in row.iter().enumerate() {
                if x.is_nan() {
                    return i;
                }
                if (want_max && x > row[bi]) || (!want_max && x < row[bi]) {
                    bi = i;
                }
            }
            bi
        };
        let mut rng = crate::random::Rng::new(9);
        for len in [1usize, 7, 511, 512, 513, 2000] {
            let mut row: Vec<f64> = (0..len).map(|_| (rng.below(0, 20)) as f64).collect();
            for want_max in [true, false] {
                assert_eq!(arg_row(&row, want_max), naive(&row, want_max), "len {len}");
            }
            if len > 3 {
                row[len - 2] = f64::NAN;
                assert_eq!(arg_row(&row, true), len - 2);
            }
        }
        let t = Tensor::from_vec((0..3000).map(|i| ((i * 7919) % 1000) as f64).collect::<Vec<_>>(), vec![3, 1000]).unwrap();
        let am = reduce(ReduceOp::ArgMax, &t, Some(&[1]), false).unwrap().to_vec::<i64>();
        let rows: Vec<Vec<f64>> = t.to_vec::<f64>().chunks(1000).map(|c| c.to_vec()).collect();
        assert_eq!(am, rows.iter().map(|r| naive(r, true) as i64).collect::<Vec<_>>());
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 1000.0, 1000.0, 1000.0], vec![2, 3]).unwrap();
        let s = softmax(&a, -1).unwrap();
        let r = reduce(ReduceOp::Sum, &s, Some(&[1]), false).unwrap().to_vec::<f32>();
        assert!(r.iter().all(|x| (x - 1.0).abs() < 1e-6));
    }
}

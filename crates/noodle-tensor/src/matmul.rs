//! Matrix products with NumPy's `@` rules: 1-D operands are promoted to a row (left) or a
//! column (right) and the extra axis removed again; leading axes are batch axes and broadcast.
//! Float products run on faer's gemm (blocked, SIMD, multi-threaded) straight from the strided
//! views, so `a.T @ b` copies nothing; integer products use a plain i-k-j loop.

use crate::{broadcast_shapes, shape_str, DType, Elem, Result, Tensor, TensorError};
use faer::{linalg::matmul::matmul as gemm, Accum, MatMut, MatRef, Par};

fn par_for(m: usize, n: usize, k: usize) -> Par {
    // threads only pay for themselves on products of some size
    if m * n * k >= 64 * 64 * 64 { Par::rayon(0) } else { Par::Seq }
}

/// Float product of one (m, k) and (k, n) pair given as raw strided views, written row-major
/// to `out` (m * n elements, which may be uninitialised: `Accum::Replace` only writes them).
///
/// Safety: the offsets and strides must describe elements inside the slices (true for views
/// produced by `Tensor`'s methods), and `out` must be valid for m * n writes.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_one<T: faer::traits::ComplexField + Elem>(a: &[T], (ao, ars, acs): (usize, isize, isize), b: &[T], (bo, brs, bcs): (usize, isize, isize), out: *mut T, m: usize, k: usize, n: usize) {
    let lhs = MatRef::<T>::from_raw_parts(a.as_ptr().add(ao), m, k, ars, acs);
    let rhs = MatRef::<T>::from_raw_parts(b.as_ptr().add(bo), k, n, brs, bcs);
    let dst = MatMut::<T>::from_raw_parts_mut(out, m, n, n as isize, 1);
    gemm(dst, Accum::Replace, lhs, rhs, T::from_f64(1.0), par_for(m, n, k));
}

fn int_one(a: &[i64], (ao, ars, acs): (usize, isize, isize), b: &[i64], (bo, brs, bcs): (usize, isize, isize), out: &mut [i64], m: usize, k: usize, n: usize) {
    let at = |i: usize, j: usize| a[(ao as isize + i as isize * ars + j as isize * acs) as usize];
    let bt = |i: usize, j: usize| b[(bo as isize + i as isize * brs + j as isize * bcs) as usize];
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        for p in 0..k {
            let x = at(i, p);
            for (j, o) in row.iter_mut().enumerate() {
                *o = o.wrapping_add(x.wrapping_mul(bt(p, j)));
            }
        }
    }
}

/// `a @ b`.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(TensorError::shape(format!("matmul needs tensors with at least one dimension, not shapes {} and {}", shape_str(a.shape()), shape_str(b.shape()))));
    }
    let (a2, drop_m) = if a.ndim() == 1 { (a.unsqueeze(0)?, true) } else { (a.clone(), false) };
    let (b2, drop_n) = if b.ndim() == 1 { (b.unsqueeze(1)?, true) } else { (b.clone(), false) };
    let (m, k) = (a2.shape()[a2.ndim() - 2], a2.shape()[a2.ndim() - 1]);
    let (k2, n) = (b2.shape()[b2.ndim() - 2], b2.shape()[b2.ndim() - 1]);
    if k != k2 {
        return Err(TensorError::shape(format!("matmul: shapes {} and {} do not align: {k} (last axis of the left) != {k2} (first matrix axis of the right)", shape_str(a.shape()), shape_str(b.shape()))));
    }
    let batch = broadcast_shapes(&a2.shape()[..a2.ndim() - 2], &b2.shape()[..b2.ndim() - 2])?;
    let dt = DType::promote(a.dtype(), b.dtype()).max(DType::I64);
    let with = |t: &Tensor| -> Result<Tensor> {
        let mut shape = batch.clone();
        shape.extend_from_slice(&t.shape()[t.ndim() - 2..]);
        let t = t.astype(dt);
        t.broadcast_to(&shape)
    };
    let (a3, b3) = (with(&a2)?, with(&b2)?);
    let nb: usize = batch.iter().product();
    let mut out_shape = batch.clone();
    out_shape.extend_from_slice(&[m, n]);
    crate::check_alloc(&out_shape, dt)?;
    let bd = batch.len();
    // per batch element: the offsets of its (m, k) and (k, n) matrices
    let mut offsets = Vec::with_capacity(nb);
    if nb > 0 {
        let (sa, sb) = (&a3.strides()[..bd], &b3.strides()[..bd]);
        crate::kernels::walk(&batch, [sa, sb], [a3.offset(), b3.offset()], |[i, j]| offsets.push((i, j)));
    }
    let (sa, sb) = (a3.strides(), b3.strides());
    let (ars, acs, brs, bcs) = (sa[bd], sa[bd + 1], sb[bd], sb[bd + 1]);
    let da = a3.buffer().read();
    let db = if a3.shares_buffer(&b3) { None } else { Some(b3.buffer().read()) };
    let dbr = db.as_deref().unwrap_or(&da);
    let result = crate::with_dtype!(dt, T => {
        let total = nb * m * n;
        let mut out: Vec<T> = crate::kernels::with_capacity(total);
        let (sa_, sb_) = (T::slice(&da), T::slice(dbr));
        if dt.is_float() && k > 0 {
            // gemm writes every output element, so the buffer is not zeroed first
            let base = out.spare_capacity_mut().as_mut_ptr() as *mut T;
            for (i, &(oa, ob)) in offsets.iter().enumerate() {
                // Safety: `base` has room for `total` elements and batch i writes m * n of
                // them starting at i * m * n.
                unsafe { float_dispatch(sa_, (oa, ars, acs), sb_, (ob, brs, bcs), base.add(i * m * n), m, k, n) };
            }
            // Safety: every element was written above (or `total` is 0).
            unsafe { out.set_len(total) };
        } else {
            out.resize(total, T::from_i64(0));
            if m * n > 0 && k > 0 {
                for (c, &(oa, ob)) in out.chunks_mut(m * n).zip(&offsets) {
                    int_dispatch(sa_, (oa, ars, acs), sb_, (ob, brs, bcs), c, m, k, n);
                }
            }
        }
        Tensor::from_vec(out, out_shape.clone())?
    });
    drop(da);
    drop(db);
    let mut shape = out_shape;
    if drop_n {
        shape.remove(shape.len() - 1);
    }
    if drop_m {
        shape.remove(shape.len() - if drop_n { 1 } else { 2 });
    }
    result.reshape(&shape.iter().map(|&d| d as i64).collect::<Vec<_>>())
}

type View = (usize, isize, isize);

/// Safety: as for `gemm_one`.
#[allow(clippy::too_many_arguments)]
unsafe fn float_dispatch<T: Elem>(a: &[T], va: View, b: &[T], vb: View, out: *mut T, m: usize, k: usize, n: usize) {
    match T::DTYPE {
        DType::F64 => gemm_one(cast::<T, f64>(a), va, cast::<T, f64>(b), vb, out as *mut f64, m, k, n),
        DType::F32 => gemm_one(cast::<T, f32>(a), va, cast::<T, f32>(b), vb, out as *mut f32, m, k, n),
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn int_dispatch<T: Elem>(a: &[T], va: View, b: &[T], vb: View, out: &mut [T], m: usize, k: usize, n: usize) {
    if T::DTYPE == DType::I64 {
        int_one(cast::<T, i64>(a), va, cast::<T, i64>(b), vb, cast_mut::<T, i64>(out), m, k, n);
    }
}

/// Reinterprets a slice whose element type is known (by `DTYPE`) to be `U`.
fn cast<T: Elem, U: Elem>(s: &[T]) -> &[U] {
    assert_eq!(T::DTYPE, U::DTYPE);
    // Safety: same dtype means same type (each dtype has exactly one Elem type).
    unsafe { std::slice::from_raw_parts(s.as_ptr() as *const U, s.len()) }
}

fn cast_mut<T: Elem, U: Elem>(s: &mut [T]) -> &mut [U] {
    assert_eq!(T::DTYPE, U::DTYPE);
    // Safety: as in `cast`.
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut U, s.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_follow_numpy_rules() {
        let a = Tensor::arange(0.0, 6.0, 1.0, DType::F64).unwrap().reshape(&[2, 3]).unwrap();
        let c = matmul(&a, &a.transpose()).unwrap();
        assert_eq!((c.shape().to_vec(), c.to_vec::<f64>()), (vec![2, 2], vec![5.0, 14.0, 14.0, 50.0]));
        let v = Tensor::from_vec(vec![1.0f64, 1.0, 1.0], vec![3]).unwrap();
        assert_eq!(matmul(&a, &v).unwrap().to_vec::<f64>(), vec![3.0, 12.0]);
        let ai = a.astype(DType::I64);
        assert_eq!(matmul(&ai, &ai.transpose()).unwrap().to_vec::<i64>(), vec![5, 14, 14, 50]);
        let batch = Tensor::arange(0.0, 12.0, 1.0, DType::F32).unwrap().reshape(&[2, 2, 3]).unwrap();
        let r = matmul(&batch, &a.transpose().astype(DType::F32)).unwrap();
        assert_eq!(r.shape(), &[2, 2, 2]);
        // empty inner dimension: zeros; empty outer dimension: an empty result
        let z = matmul(&Tensor::zeros(&[2, 0], DType::F64).unwrap(), &Tensor::zeros(&[0, 3], DType::F64).unwrap()).unwrap();
        assert_eq!((z.shape().to_vec(), z.to_vec::<f64>()), (vec![2, 3], vec![0.0; 6]));
        let z = matmul(&Tensor::zeros(&[0, 3], DType::F32).unwrap(), &Tensor::zeros(&[3, 2], DType::F32).unwrap()).unwrap();
        assert_eq!(z.shape(), &[0, 2]);
        let e = matmul(&a, &a).unwrap_err();
        assert!(e.message.contains("(2, 3) and (2, 3)"), "{}", e.message);
    }
}

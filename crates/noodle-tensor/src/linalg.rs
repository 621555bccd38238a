//! Linear algebra for `std.linalg`, on faer's factorisations.
//!
//! Every function takes 2-D tensors (vectors where a right-hand side may be one) and names the
//! offending shape in an N2101 error otherwise. f32 input is factorised in f32 and gives f32
//! results; f64 gives f64; i64 and bool input is converted to f64. Scalar results (`det`,
//! `norm`) are f64.
//!
//! Conventions, chosen to match NumPy where NumPy is deterministic:
//! - `qr` is the reduced factorisation with the diagonal of R made non-negative (NumPy's signs
//!   come from LAPACK and are not normalised: flip the signs of the columns of its Q and rows of
//!   its R where `R[i, i] < 0` to compare).
//! - `svd` is `full_matrices=False`; singular values descending. Singular vectors are unique
//!   only up to sign (a pair `u_i, v_i` may both be negated).
//! - `eigh` reads the lower triangle only; eigenvalues ascending, eigenvectors in the columns
//!   (unique only up to sign, and up to rotation within repeated eigenvalues).
//! - Errors: a singular matrix in `solve`/`inv`, a matrix that is not positive definite in
//!   `cholesky`, NaN or infinity in `svd`/`eigh`/`lstsq`, and a factorisation that does not
//!   converge are N2105.
//!
//! Factorisations run on faer's kernels, on rayon's threads (`Par::rayon(0)`) once the matrix
//! is large enough for that to pay; small ones run sequentially.

use crate::{shape_str, DType, Elem, Result, Tensor, TensorError};
use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{self as llt, LltRegularization};
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::linalg::householder;
use faer::linalg::lu::partial_pivoting::{factor as lu_factor, solve as lu_solve_mod};
use faer::linalg::matmul::matmul as gemm;
use faer::linalg::qr::no_pivoting::factor as qr_factor;
use faer::linalg::svd::{self as fsvd, ComputeSvdVectors};
use faer::{Accum, Conj, Mat, MatMut, MatRef, Par};

/// The float types the factorisations run in.
trait Real: faer::traits::RealField + Elem {}
impl Real for f32 {}
impl Real for f64 {}

/// Calls `$body` with `$T` bound to `f32` when `$dtype` is f32, `f64` otherwise.
macro_rules! with_float {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $T = f32;
                $body
            }
            _ => {
                type $T = f64;
                $body
            }
        }
    };
}

/// The dtype a factorisation of a tensor of dtype `d` runs in.
fn float_dtype(d: DType) -> DType {
    if d == DType::F32 {
        DType::F32
    } else {
        DType::F64
    }
}

/// Work (about `m * n * min(m, n)` flops) above which faer's kernels run on rayon's threads.
fn par_for(work: usize) -> Par {
    if work >= 96 * 96 * 96 {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}

fn matrix_shape(name: &str, a: &Tensor) -> Result<(usize, usize)> {
    if a.ndim() != 2 {
        return Err(TensorError::shape(format!("{name}: expected a 2-D matrix, got shape {}", shape_str(a.shape()))));
    }
    Ok((a.shape()[0], a.shape()[1]))
}

fn square(name: &str, a: &Tensor) -> Result<usize> {
    if a.ndim() != 2 || a.shape()[0] != a.shape()[1] {
        return Err(TensorError::shape(format!("{name}: expected a square matrix, got shape {}", shape_str(a.shape()))));
    }
    Ok(a.shape()[0])
}

/// The number of right-hand sides of `b` for a system with `m` equations: `b` must be `(m,)` or
/// `(m, k)`.
fn rhs_cols(name: &str, a: &Tensor, b: &Tensor, m: usize) -> Result<usize> {
    match b.shape() {
        [r] if *r == m => Ok(1),
        [r, k] if *r == m => Ok(*k),
        _ => Err(TensorError::shape(format!(
            "{name}: the right-hand side of shape {} does not match the matrix of shape {} (expected ({m},) or ({m}, k))",
            shape_str(b.shape()),
            shape_str(a.shape())
        ))),
    }
}

fn is_finite<T: Elem>(x: T) -> bool {
    x.to_f64().is_finite()
}

fn all_finite<T: Real>(m: MatRef<'_, T>) -> bool {
    (0..m.ncols()).all(|j| (0..m.nrows()).all(|i| is_finite(m[(i, j)])))
}

fn lower_finite<T: Real>(m: MatRef<'_, T>) -> bool {
    (0..m.ncols()).all(|j| (j..m.nrows()).all(|i| is_finite(m[(i, j)])))
}

/// A row-major (r, c) element vector as a (column-major) faer matrix.
fn mat_of<T: Real>(v: &[T], r: usize, c: usize) -> Mat<T> {
    MatRef::from_row_major_slice(v, r, c).to_owned()
}

/// A 2-D tensor as a faer matrix of element type `T`.
fn to_mat<T: Real>(t: &Tensor) -> Mat<T> {
    let (r, c) = (t.shape()[0], t.shape()[1]);
    mat_of(&t.to_vec::<T>(), r, c)
}

/// A faer matrix as a contiguous tensor of the given shape (same element count).
fn from_mat<T: Real>(m: MatRef<'_, T>, shape: Vec<usize>) -> Result<Tensor> {
    let (r, c) = (m.nrows(), m.ncols());
    let mut out = vec![T::from_f64(0.0); r * c];
    MatMut::from_row_major_slice_mut(&mut out, r, c).copy_from(m);
    Tensor::from_vec(out, shape)
}

/// The power of two to divide a matrix by so that its largest element is near 1, when that
/// element is far enough from 1 that the factorisation could overflow or underflow (an exact
/// scaling: only exponents change). 1 when no scaling is needed.
fn scale_for<T: Real>(m: MatRef<'_, T>, lower_only: bool) -> f64 {
    let mut amax = 0.0f64;
    for j in 0..m.ncols() {
        for i in if lower_only { j } else { 0 }..m.nrows() {
            amax = amax.max(m[(i, j)].to_f64().abs());
        }
    }
    // within this range of exponents nothing the factorisations compute overflows
    let limit = if T::DTYPE == DType::F32 { 30 } else { 250 };
    if amax == 0.0 || !amax.is_finite() {
        return 1.0;
    }
    // (not below 2^-1000, whose reciprocal still fits in an f64)
    let e = (amax.log2().floor() as i32).max(-1000);
    if e.abs() <= limit {
        1.0
    } else {
        2f64.powi(e)
    }
}

fn apply_scale<T: Real>(m: &mut Mat<T>, scale: f64) {
    if scale != 1.0 {
        let inv = 1.0 / scale;
        for j in 0..m.ncols() {
            for i in 0..m.nrows() {
                m[(i, j)] = T::from_f64(m[(i, j)].to_f64() * inv);
            }
        }
    }
}

/// The permutation that sorts `vals` ascending (or descending), stable; NaN last.
fn sort_order<T: Real>(vals: &[T], descending: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..vals.len()).collect();
    order.sort_by(|&i, &j| {
        let (x, y) = (vals[i].to_f64(), vals[j].to_f64());
        match x.partial_cmp(&y) {
            Some(o) if descending => o.reverse(),
            Some(o) => o,
            None => x.is_nan().cmp(&y.is_nan()),
        }
    });
    order
}

fn permute_cols<T: Real>(m: &Mat<T>, order: &[usize]) -> Mat<T> {
    Mat::from_fn(m.nrows(), order.len(), |i, j| m[(i, order[j])])
}

// ---------------------------------------------------------------------------- LU

/// Factorises `a` (n, n) in place with partial pivoting and solves `a x = rhs` in place.
/// Returns whether a pivot was exactly zero (the matrix is singular).
fn lu_solve_in_place<T: Real>(mut a_t: Mat<T>, rhs: MatMut<'_, T>) -> bool {
    // `a_t` is the transpose of the matrix: a row-major tensor read as column-major, which is a
    // straight copy instead of a transposing one. A = (P L U)^T, so the transposed solve gives
    // the solution of A x = b.
    let n = a_t.nrows();
    let par = par_for(n * n * n);
    let mut fwd = vec![0usize; n];
    let mut bwd = vec![0usize; n];
    let mut mem = MemBuffer::new(lu_factor::lu_in_place_scratch::<usize, T>(n, n, par, Default::default()));
    let (_, perm) = lu_factor::lu_in_place(a_t.as_mut(), &mut fwd, &mut bwd, par, MemStack::new(&mut mem), Default::default());
    let singular = (0..n).any(|i| a_t[(i, i)] == T::from_f64(0.0));
    if !singular {
        let k = rhs.ncols();
        let mut mem = MemBuffer::new(lu_solve_mod::solve_transpose_in_place_scratch::<usize, T>(n, k, par));
        lu_solve_mod::solve_transpose_in_place(a_t.as_ref(), a_t.as_ref(), perm, rhs, par, MemStack::new(&mut mem));
    }
    singular
}

/// The transpose of a 2-D tensor as a faer matrix: its row-major elements read column-major.
fn to_mat_t<T: Real>(t: &Tensor) -> Mat<T> {
    let (r, c) = (t.shape()[0], t.shape()[1]);
    MatRef::from_column_major_slice(&t.to_vec::<T>(), c, r).to_owned()
}

/// The solution `x` of `a x = b` for a square `a` (n, n) and `b` (n,) or (n, k), by LU with
/// partial pivoting. `x` has `b`'s shape. An exactly zero pivot, or a non-finite solution of a
/// finite system, is the N2105 error "solve: the matrix is singular".
pub fn solve(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let n = square("solve", a)?;
    let k = rhs_cols("solve", a, b, n)?;
    let dt = float_dtype(DType::promote(a.dtype(), b.dtype()));
    with_float!(dt, T => {
        let am = to_mat_t::<T>(a);
        let mut x = mat_of(&b.to_vec::<T>(), n, k);
        let finite = all_finite(am.as_ref()) && all_finite(x.as_ref());
        let singular = lu_solve_in_place(am, x.as_mut());
        if singular || (finite && !all_finite(x.as_ref())) {
            return Err(TensorError::linalg("solve: the matrix is singular"));
        }
        from_mat(x.as_ref(), b.shape().to_vec())
    })
}

/// The inverse of a square matrix (by LU with partial pivoting). Singular: N2105.
pub fn inv(a: &Tensor) -> Result<Tensor> {
    let n = square("inv", a)?;
    with_float!(float_dtype(a.dtype()), T => {
        let am = to_mat_t::<T>(a);
        let finite = all_finite(am.as_ref());
        let mut x = Mat::<T>::identity(n, n);
        let singular = lu_solve_in_place(am, x.as_mut());
        if singular || (finite && !all_finite(x.as_ref())) {
            return Err(TensorError::linalg("inv: the matrix is singular"));
        }
        from_mat(x.as_ref(), vec![n, n])
    })
}

/// The determinant of a square matrix (1 for a 0 x 0 matrix). Computed in f64 whatever the
/// input dtype, from the LU factorisation; NaN input gives NaN.
pub fn det(a: &Tensor) -> Result<f64> {
    let n = square("det", a)?;
    // det(A^T) = det(A), and the transpose is the cheaper copy
    let mut lu = to_mat_t::<f64>(a);
    let par = par_for(n * n * n);
    let mut fwd = vec![0usize; n];
    let mut bwd = vec![0usize; n];
    let mut mem = MemBuffer::new(lu_factor::lu_in_place_scratch::<usize, f64>(n, n, par, Default::default()));
    let (info, _) = lu_factor::lu_in_place(lu.as_mut(), &mut fwd, &mut bwd, par, MemStack::new(&mut mem), Default::default());
    let mut d = if info.transposition_count % 2 == 0 { 1.0 } else { -1.0 };
    for i in 0..n {
        d *= lu[(i, i)];
    }
    Ok(d)
}

// ---------------------------------------------------------------------------- QR

/// The reduced QR factorisation `a = Q R` of an (m, n) matrix: Q (m, k) with orthonormal
/// columns and R (k, n) upper triangular, k = min(m, n), like `numpy.linalg.qr(a)` (mode
/// "reduced"). Signs are normalised so that the diagonal of R is non-negative (column i of Q and
/// row i of R are negated where `R[i, i] < 0`), which makes the result deterministic; NumPy's
/// result agrees after the same normalisation. NaN input gives NaN output, not an error.
pub fn qr(a: &Tensor) -> Result<(Tensor, Tensor)> {
    let (m, n) = matrix_shape("qr", a)?;
    let k = m.min(n);
    let dt = float_dtype(a.dtype());
    if k == 0 {
        return Ok((Tensor::zeros(&[m, 0], dt)?, Tensor::zeros(&[0, n], dt)?));
    }
    with_float!(dt, T => {
        let mut f = to_mat::<T>(a);
        let par = par_for(m * n * k);
        let bs = qr_factor::recommended_blocksize::<T>(m, n);
        let mut coeff = Mat::<T>::zeros(bs, k);
        {
            let mut mem = MemBuffer::new(qr_factor::qr_in_place_scratch::<T>(m, n, bs, par, Default::default()));
            qr_factor::qr_in_place(f.as_mut(), coeff.as_mut(), par, MemStack::new(&mut mem), Default::default());
        }
        let mut q = Mat::<T>::identity(m, k);
        {
            let mut mem = MemBuffer::new(householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(m, bs, k));
            householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
                f.as_ref().get(.., ..k),
                coeff.as_ref(),
                Conj::No,
                q.as_mut(),
                par,
                MemStack::new(&mut mem),
            );
        }
        let zero = T::from_f64(0.0);
        let mut r = Mat::<T>::zeros(k, n);
        for j in 0..n {
            for i in 0..=j.min(k - 1) {
                r[(i, j)] = f[(i, j)];
            }
        }
        for i in 0..k {
            if r[(i, i)] < zero {
                for j in i..n {
                    r[(i, j)] = -r[(i, j)];
                }
                for p in 0..m {
                    q[(p, i)] = -q[(p, i)];
                }
            }
        }
        Ok((from_mat(q.as_ref(), vec![m, k])?, from_mat(r.as_ref(), vec![k, n])?))
    })
}

// ---------------------------------------------------------------------------- Cholesky

/// The lower-triangular L with `a = L L^T`, reading only the lower triangle of `a` (as NumPy
/// does). A matrix that is not positive definite (including one with NaN or infinity in its
/// lower triangle) is the N2105 error "cholesky: the matrix is not positive definite".
pub fn cholesky(a: &Tensor) -> Result<Tensor> {
    let n = square("cholesky", a)?;
    with_float!(float_dtype(a.dtype()), T => {
        let am = to_mat::<T>(a);
        let not_pd = || TensorError::linalg("cholesky: the matrix is not positive definite");
        if !lower_finite(am.as_ref()) {
            return Err(not_pd());
        }
        let mut l = Mat::<T>::zeros(n, n);
        l.copy_from_triangular_lower(am.as_ref());
        let par = par_for(n * n * n / 3);
        let mut mem = MemBuffer::new(llt::cholesky_in_place_scratch::<T>(n, par, Default::default()));
        llt::cholesky_in_place(l.as_mut(), LltRegularization::default(), par, MemStack::new(&mut mem), Default::default()).map_err(|_| not_pd())?;
        for j in 1..n {
            for i in 0..j {
                l[(i, j)] = T::from_f64(0.0);
            }
        }
        if !all_finite(l.as_ref()) {
            return Err(TensorError::linalg("cholesky: the factor overflowed (elements too large)"));
        }
        from_mat(l.as_ref(), vec![n, n])
    })
}

// ---------------------------------------------------------------------------- SVD

/// U, the singular values and V of a thin SVD (U and V only when asked for).
type SvdParts<T> = (Option<Mat<T>>, Vec<T>, Option<Mat<T>>);

/// Thin SVD of a finite (m, n) matrix `a` with k = min(m, n) > 0: (U (m, k), S, V (n, k)) with
/// S descending. `a` is scaled by a power of two first when its elements are extreme.
fn svd_mat<T: Real>(name: &str, mut a: Mat<T>, vectors: bool) -> Result<SvdParts<T>> {
    let (m, n) = (a.nrows(), a.ncols());
    let k = m.min(n);
    let scale = scale_for(a.as_ref(), false);
    apply_scale(&mut a, scale);
    let par = par_for(m * n * k);
    let mut s = Diag::<T>::zeros(k);
    let (mut u, mut v) = if vectors { (Some(Mat::<T>::zeros(m, k)), Some(Mat::<T>::zeros(n, k))) } else { (None, None) };
    let compute = if vectors { ComputeSvdVectors::Thin } else { ComputeSvdVectors::No };
    let mut mem = MemBuffer::new(fsvd::svd_scratch::<T>(m, n, compute, compute, par, Default::default()));
    fsvd::svd(
        a.as_ref(),
        s.as_mut(),
        u.as_mut().map(|u| u.as_mut()),
        v.as_mut().map(|v| v.as_mut()),
        par,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|_| TensorError::linalg(format!("{name}: the SVD did not converge")))?;
    let vals: Vec<T> = (0..k).map(|i| T::from_f64(s.column_vector()[i].to_f64() * scale)).collect();
    // faer already orders them; keep the guarantee independent of its internals
    let order = sort_order(&vals, true);
    if order.iter().enumerate().all(|(i, &j)| i == j) {
        return Ok((u, vals, v));
    }
    let vals = order.iter().map(|&i| vals[i]).collect();
    Ok((u.map(|u| permute_cols(&u, &order)), vals, v.map(|v| permute_cols(&v, &order))))
}

/// The reduced SVD `a = U diag(S) Vt` of an (m, n) matrix: U (m, k), S (k,) descending and
/// non-negative, Vt (k, n), k = min(m, n), like `numpy.linalg.svd(a, full_matrices=False)`.
/// NaN or infinity in `a` is an N2105 error (NumPy: "SVD did not converge").
pub fn svd(a: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let (m, n) = matrix_shape("svd", a)?;
    let k = m.min(n);
    let dt = float_dtype(a.dtype());
    if k == 0 {
        return Ok((Tensor::zeros(&[m, 0], dt)?, Tensor::zeros(&[0], dt)?, Tensor::zeros(&[0, n], dt)?));
    }
    with_float!(dt, T => {
        let am = to_mat::<T>(a);
        if !all_finite(am.as_ref()) {
            return Err(TensorError::linalg("svd: the matrix contains NaN or infinity"));
        }
        let (u, s, v) = svd_mat("svd", am, true)?;
        let (u, v) = (u.unwrap_or_else(|| Mat::zeros(m, k)), v.unwrap_or_else(|| Mat::zeros(n, k)));
        Ok((from_mat(u.as_ref(), vec![m, k])?, Tensor::from_vec(s, vec![k])?, from_mat(v.as_ref().transpose(), vec![k, n])?))
    })
}

// ---------------------------------------------------------------------------- eigh

/// The eigen-decomposition of a symmetric matrix, reading only its lower triangle (like
/// `numpy.linalg.eigh(a)` with the default `UPLO="L"`): eigenvalues ascending (n,), and the
/// eigenvectors as the columns of an (n, n) matrix V, so that `a V = V diag(w)`. NaN or infinity
/// in the lower triangle is an N2105 error.
pub fn eigh(a: &Tensor) -> Result<(Tensor, Tensor)> {
    let n = square("eigh", a)?;
    let dt = float_dtype(a.dtype());
    if n == 0 {
        return Ok((Tensor::zeros(&[0], dt)?, Tensor::zeros(&[0, 0], dt)?));
    }
    with_float!(dt, T => {
        let mut am = to_mat::<T>(a);
        if !lower_finite(am.as_ref()) {
            return Err(TensorError::linalg("eigh: the matrix contains NaN or infinity"));
        }
        let scale = scale_for(am.as_ref(), true);
        apply_scale(&mut am, scale);
        let par = par_for(n * n * n);
        let mut s = Diag::<T>::zeros(n);
        let mut u = Mat::<T>::zeros(n, n);
        let mut mem = MemBuffer::new(evd::self_adjoint_evd_scratch::<T>(n, ComputeEigenvectors::Yes, par, Default::default()));
        evd::self_adjoint_evd(am.as_ref(), s.as_mut(), Some(u.as_mut()), par, MemStack::new(&mut mem), Default::default())
            .map_err(|_| TensorError::linalg("eigh: the eigenvalue algorithm did not converge"))?;
        let vals: Vec<T> = (0..n).map(|i| T::from_f64(s.column_vector()[i].to_f64() * scale)).collect();
        let order = sort_order(&vals, false);
        let (vals, u) = if order.iter().enumerate().all(|(i, &j)| i == j) {
            (vals, u)
        } else {
            (order.iter().map(|&i| vals[i]).collect(), permute_cols(&u, &order))
        };
        Ok((Tensor::from_vec(vals, vec![n])?, from_mat(u.as_ref(), vec![n, n])?))
    })
}

// ---------------------------------------------------------------------------- norms

/// The orders `norm` accepts.
pub const NORM_ORDERS: [&str; 5] = ["fro", "inf", "1", "2", "nuc"];

/// `sqrt(sum x^2)`, scaled so that it neither overflows nor underflows; NaN if any element is.
fn euclid(v: &[f64]) -> f64 {
    if v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let amax = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if amax == 0.0 || amax.is_infinite() {
        return amax;
    }
    amax * v.iter().map(|x| (x / amax) * (x / amax)).sum::<f64>().sqrt()
}

/// The largest of `v` (0 for none), NaN if any is NaN.
fn max_nan(v: impl Iterator<Item = f64>) -> f64 {
    v.fold(0.0f64, |m, x| if m.is_nan() || x.is_nan() { f64::NAN } else { m.max(x) })
}

/// A vector or matrix norm, as `numpy.linalg.norm(a, ord)`:
/// - no order: the Frobenius norm of any tensor (the 2-norm of its elements, flattened);
/// - `"fro"`: Frobenius (matrices only);
/// - `"inf"`: max absolute row sum of a matrix, max absolute element of a vector;
/// - `"1"`: max absolute column sum of a matrix, sum of absolute values of a vector;
/// - `"2"`: largest singular value of a matrix, 2-norm of a vector;
/// - `"nuc"`: sum of the singular values (matrices only).
///
/// An order other than these is N2104; a tensor that is neither a vector nor a matrix with an
/// explicit order, or a vector with `"fro"`/`"nuc"`, is N2101. Empty input gives 0; NaN input
/// gives NaN. Always computed in f64.
pub fn norm(a: &Tensor, ord: Option<&str>) -> Result<f64> {
    let Some(ord) = ord else {
        return Ok(euclid(&a.to_vec::<f64>()));
    };
    if !NORM_ORDERS.contains(&ord) {
        return Err(TensorError::arg(format!("norm: unknown order {ord:?}; the orders are none (Frobenius), \"fro\", \"inf\", \"1\", \"2\" and \"nuc\"")));
    }
    let v = a.to_vec::<f64>();
    match a.shape() {
        [_] => match ord {
            "inf" => Ok(max_nan(v.iter().map(|x| x.abs()))),
            "1" => Ok(v.iter().map(|x| x.abs()).sum()),
            "2" => Ok(euclid(&v)),
            _ => Err(TensorError::shape(format!("norm: order {ord:?} is for matrices, not a vector of shape {}", shape_str(a.shape())))),
        },
        &[m, n] => match ord {
            "fro" => Ok(euclid(&v)),
            "inf" => Ok(max_nan((0..m).map(|i| v[i * n..(i + 1) * n].iter().map(|x| x.abs()).sum::<f64>()))),
            "1" => Ok(max_nan((0..n).map(|j| (0..m).map(|i| v[i * n + j].abs()).sum::<f64>()))),
            _ => {
                if m.min(n) == 0 {
                    return Ok(0.0);
                }
                if v.iter().any(|x| x.is_nan()) {
                    return Ok(f64::NAN);
                }
                if v.iter().any(|x| x.is_infinite()) {
                    return Ok(f64::INFINITY);
                }
                let (_, s, _) = svd_mat::<f64>("norm", mat_of(&v, m, n), false)?;
                Ok(if ord == "2" { s[0] } else { s.iter().sum() })
            }
        },
        _ => Err(TensorError::shape(format!("norm: order {ord:?} needs a vector or a matrix, got shape {}", shape_str(a.shape())))),
    }
}

// ---------------------------------------------------------------------------- least squares

/// The least-squares solution `x` minimising `||a x - b||` for `a` (m, n) and `b` (m,) or
/// (m, k); `x` is (n,) or (n, k).
///
/// Computed from the thin SVD of `a` (not QR), so it handles every shape and rank like
/// `numpy.linalg.lstsq(a, b, rcond=None)`: singular values below
/// `eps * max(m, n) * s_max` are treated as zero and the minimum-norm solution is returned
/// for rank-deficient or under-determined systems. For full-rank `m >= n` this is the unique
/// least-squares solution. NaN or infinity in the inputs is an N2105 error.
pub fn lstsq(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (m, n) = matrix_shape("lstsq", a)?;
    let nrhs = rhs_cols("lstsq", a, b, m)?;
    let dt = float_dtype(DType::promote(a.dtype(), b.dtype()));
    let out_shape = if b.ndim() == 1 { vec![n] } else { vec![n, nrhs] };
    let k = m.min(n);
    with_float!(dt, T => {
        let am = to_mat::<T>(a);
        let bm = mat_of(&b.to_vec::<T>(), m, nrhs);
        if !all_finite(am.as_ref()) || !all_finite(bm.as_ref()) {
            return Err(TensorError::linalg("lstsq: the inputs contain NaN or infinity"));
        }
        if k == 0 || nrhs == 0 {
            return Tensor::zeros(&out_shape, dt);
        }
        let (u, s, v) = svd_mat("lstsq", am, true)?;
        let (u, v) = (u.unwrap_or_else(|| Mat::zeros(m, k)), v.unwrap_or_else(|| Mat::zeros(n, k)));
        let eps = if dt == DType::F32 { f32::EPSILON as f64 } else { f64::EPSILON };
        let tol = eps * m.max(n) as f64 * s[0].to_f64();
        let par = par_for(m * k * nrhs + n * k * nrhs);
        // c = U^T b, scaled by 1 / s_i (0 for the discarded directions); x = V c
        let mut c = Mat::<T>::zeros(k, nrhs);
        gemm(c.as_mut(), Accum::Replace, u.as_ref().transpose(), bm.as_ref(), T::from_f64(1.0), par);
        for i in 0..k {
            let si = s[i].to_f64();
            let f = if si > tol { 1.0 / si } else { 0.0 };
            for j in 0..nrhs {
                c[(i, j)] = T::from_f64(c[(i, j)].to_f64() * f);
            }
        }
        let mut x = Mat::<T>::zeros(n, nrhs);
        gemm(x.as_mut(), Accum::Replace, v.as_ref(), c.as_ref(), T::from_f64(1.0), par);
        from_mat(x.as_ref(), out_shape)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matmul::matmul;
    use crate::random::randn;

    fn t(v: Vec<f64>, shape: Vec<usize>) -> Tensor {
        Tensor::from_vec(v, shape).unwrap()
    }

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len(), "lengths differ: {got:?} vs {want:?}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "element {i}: got {g}, want {w}\n got  {got:?}\n want {want:?}");
        }
    }

    fn close_t(a: &Tensor, b: &Tensor, tol: f64) {
        assert_eq!(a.shape(), b.shape());
        assert_close(&a.to_vec::<f64>(), &b.to_vec::<f64>(), tol);
    }

    fn eye(n: usize) -> Tensor {
        Tensor::eye(n, n, DType::F64).unwrap()
    }

    /// `m * diag(d)` (scales the columns).
    fn scale_cols(m: &Tensor, d: &Tensor) -> Tensor {
        crate::kernels::binary(crate::kernels::BinOp::Mul, m, d).unwrap()
    }

    /// A random symmetric positive-definite matrix.
    fn spd(n: usize, seed: u64) -> Tensor {
        let x = randn(&[n, n], seed, DType::F64).unwrap();
        let g = matmul(&x, &x.transpose()).unwrap();
        crate::kernels::binary(crate::kernels::BinOp::Add, &g, &eye(n)).unwrap()
    }

    #[test]
    fn solve_small_known() {
        // 2x + y = 3, x + 3y = 5 -> x = 0.8, y = 1.4
        let a = t(vec![2.0, 1.0, 1.0, 3.0], vec![2, 2]);
        let x = solve(&a, &t(vec![3.0, 5.0], vec![2])).unwrap();
        assert_eq!(x.shape(), &[2]);
        assert_close(&x.to_vec::<f64>(), &[0.8, 1.4], 1e-14);
        // two right-hand sides; a needs pivoting (zero in the top-left corner)
        let a = t(vec![0.0, 1.0, 1.0, 1.0], vec![2, 2]);
        let x = solve(&a, &t(vec![1.0, 2.0, 3.0, 4.0], vec![2, 2])).unwrap();
        assert_eq!(x.shape(), &[2, 2]);
        assert_close(&x.to_vec::<f64>(), &[2.0, 2.0, 1.0, 2.0], 1e-14);
        // 3x3 with integer input: becomes f64
        let a = Tensor::from_vec(vec![4i64, -2, 1, -2, 4, -2, 1, -2, 4], vec![3, 3]).unwrap();
        let b = Tensor::from_vec(vec![11i64, -16, 17], vec![3]).unwrap();
        let x = solve(&a, &b).unwrap();
        assert_eq!(x.dtype(), DType::F64);
        assert_close(&x.to_vec::<f64>(), &[1.0, -2.0, 3.0], 1e-13);
    }

    #[test]
    fn solve_random_and_f32() {
        for (n, seed) in [(1, 1), (5, 2), (40, 3), (130, 4)] {
            let a = randn(&[n, n], seed, DType::F64).unwrap();
            let b = randn(&[n, 3], seed + 100, DType::F64).unwrap();
            let x = solve(&a, &b).unwrap();
            close_t(&matmul(&a, &x).unwrap(), &b, 1e-8);
        }
        let a = randn(&[6, 6], 9, DType::F32).unwrap();
        let b = randn(&[6], 10, DType::F32).unwrap();
        let x = solve(&a, &b).unwrap();
        assert_eq!(x.dtype(), DType::F32);
        close_t(&matmul(&a, &x).unwrap(), &b, 1e-3);
    }

    #[test]
    fn solve_errors() {
        let a = t(vec![1.0, 2.0, 2.0, 4.0], vec![2, 2]);
        let e = solve(&a, &t(vec![1.0, 2.0], vec![2])).unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("N2105", "solve: the matrix is singular"));
        let e = inv(&a).unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("N2105", "inv: the matrix is singular"));
        let zeros = Tensor::zeros(&[3, 3], DType::F64).unwrap();
        assert_eq!(solve(&zeros, &t(vec![1.0; 3], vec![3])).unwrap_err().code, "N2105");
        let e = solve(&t(vec![1.0; 6], vec![2, 3]), &t(vec![1.0; 2], vec![2])).unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("N2101", "solve: expected a square matrix, got shape (2, 3)"));
        let e = solve(&eye(2), &t(vec![1.0; 3], vec![3])).unwrap_err();
        assert_eq!(e.code, "N2101");
        assert!(e.message.contains("(3,)") && e.message.contains("(2, 2)"), "{}", e.message);
        assert_eq!(solve(&eye(2), &Tensor::zeros(&[2, 2, 2], DType::F64).unwrap()).unwrap_err().code, "N2101");
        assert_eq!(solve(&t(vec![1.0; 2], vec![2]), &t(vec![1.0; 2], vec![2])).unwrap_err().code, "N2101");
        assert_eq!(inv(&Tensor::zeros(&[2, 3], DType::F64).unwrap()).unwrap_err().code, "N2101");
        assert_eq!(det(&Tensor::zeros(&[3], DType::F64).unwrap()).unwrap_err().code, "N2101");
    }

    #[test]
    fn inverse_and_determinant() {
        let a = t(vec![4.0, 7.0, 2.0, 6.0], vec![2, 2]);
        assert_close(&inv(&a).unwrap().to_vec::<f64>(), &[0.6, -0.7, -0.2, 0.4], 1e-14);
        assert!((det(&a).unwrap() - 10.0).abs() < 1e-12);
        // a row swap changes the sign
        let p = t(vec![0.0, 1.0, 1.0, 0.0], vec![2, 2]);
        assert_eq!(det(&p).unwrap(), -1.0);
        let a3 = t(vec![6.0, 1.0, 1.0, 4.0, -2.0, 5.0, 2.0, 8.0, 7.0], vec![3, 3]);
        assert!((det(&a3).unwrap() - -306.0).abs() < 1e-10);
        assert_eq!(det(&t(vec![1.0, 2.0, 2.0, 4.0], vec![2, 2])).unwrap(), 0.0);
        assert_eq!(det(&Tensor::zeros(&[0, 0], DType::F64).unwrap()).unwrap(), 1.0);
        let ai = Tensor::from_vec(vec![2i64, 0, 0, 3], vec![2, 2]).unwrap();
        assert_eq!(det(&ai).unwrap(), 6.0);
        let r = randn(&[30, 30], 5, DType::F64).unwrap();
        close_t(&matmul(&r, &inv(&r).unwrap()).unwrap(), &eye(30), 1e-9);
        let r32 = randn(&[8, 8], 6, DType::F32).unwrap();
        let i32_ = inv(&r32).unwrap();
        assert_eq!(i32_.dtype(), DType::F32);
        close_t(&matmul(&r32, &i32_).unwrap(), &Tensor::eye(8, 8, DType::F32).unwrap(), 1e-3);
    }

    fn check_qr(a: &Tensor, tol: f64) {
        let (m, n) = (a.shape()[0], a.shape()[1]);
        let k = m.min(n);
        let (q, r) = qr(a).unwrap();
        assert_eq!((q.shape(), r.shape()), (&[m, k][..], &[k, n][..]));
        close_t(&matmul(&q, &r).unwrap(), &a.astype(q.dtype()), tol);
        close_t(&matmul(&q.transpose(), &q).unwrap(), &Tensor::eye(k, k, q.dtype()).unwrap(), tol);
        let rv = r.to_vec::<f64>();
        for i in 0..k {
            assert!(rv[i * n + i] >= 0.0, "R diagonal must be non-negative");
            for j in 0..i.min(n) {
                assert_eq!(rv[i * n + j], 0.0, "R must be upper triangular");
            }
        }
    }

    #[test]
    fn qr_known_and_random() {
        // numpy: q, r = qr([[3, 1], [4, 2]]) -> r = [[-5, -2.2], [0, 0.4]] (LAPACK signs); with a
        // non-negative diagonal: r = [[5, 2.2], [0, 0.4]], q = [[0.6, -0.8], [0.8, 0.6]]
        let a = t(vec![3.0, 1.0, 4.0, 2.0], vec![2, 2]);
        let (q, r) = qr(&a).unwrap();
        assert_close(&r.to_vec::<f64>(), &[5.0, 2.2, 0.0, 0.4], 1e-14);
        assert_close(&q.to_vec::<f64>(), &[0.6, -0.8, 0.8, 0.6], 1e-14);
        for (m, n, seed) in [(1, 1, 1), (5, 3, 2), (3, 5, 3), (7, 7, 4), (200, 50, 5), (50, 120, 6)] {
            check_qr(&randn(&[m, n], seed, DType::F64).unwrap(), 1e-10);
        }
        check_qr(&randn(&[6, 4], 7, DType::F32).unwrap(), 1e-4);
        let (q, r) = qr(&Tensor::zeros(&[3, 0], DType::F64).unwrap()).unwrap();
        assert_eq!((q.shape(), r.shape()), (&[3, 0][..], &[0, 0][..]));
        let (q, r) = qr(&Tensor::zeros(&[0, 2], DType::F32).unwrap()).unwrap();
        assert_eq!((q.shape(), r.shape(), q.dtype()), (&[0, 0][..], &[0, 2][..], DType::F32));
        // rank deficient still factorises
        check_qr(&t(vec![1.0, 2.0, 2.0, 4.0, 3.0, 6.0], vec![3, 2]), 1e-12);
        assert_eq!(qr(&t(vec![1.0; 3], vec![3])).unwrap_err().message, "qr: expected a 2-D matrix, got shape (3,)");
    }

    #[test]
    fn cholesky_known_and_random() {
        // [[4, 12, -16], [12, 37, -43], [-16, -43, 98]] = L L^T, L = [[2,0,0],[6,1,0],[-8,5,3]]
        let a = t(vec![4.0, 12.0, -16.0, 12.0, 37.0, -43.0, -16.0, -43.0, 98.0], vec![3, 3]);
        assert_close(&cholesky(&a).unwrap().to_vec::<f64>(), &[2.0, 0.0, 0.0, 6.0, 1.0, 0.0, -8.0, 5.0, 3.0], 1e-14);
        for (n, seed) in [(1, 1), (4, 2), (30, 3), (150, 4)] {
            let a = spd(n, seed);
            let l = cholesky(&a).unwrap();
            close_t(&matmul(&l, &l.transpose()).unwrap(), &a, 1e-10);
            let lv = l.to_vec::<f64>();
            assert!((0..n).all(|i| (i + 1..n).all(|j| lv[i * n + j] == 0.0)));
        }
        let e = cholesky(&t(vec![1.0, 2.0, 2.0, 1.0], vec![2, 2])).unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("N2105", "cholesky: the matrix is not positive definite"));
        assert_eq!(cholesky(&t(vec![f64::NAN, 0.0, 0.0, 1.0], vec![2, 2])).unwrap_err().code, "N2105");
        assert_eq!(cholesky(&Tensor::zeros(&[2, 2], DType::F64).unwrap()).unwrap_err().code, "N2105");
        assert_eq!(cholesky(&Tensor::zeros(&[0, 0], DType::F64).unwrap()).unwrap().shape(), &[0, 0]);
        assert_eq!(cholesky(&t(vec![1.0; 6], vec![2, 3])).unwrap_err().code, "N2101");
        let l32 = cholesky(&spd(5, 9).astype(DType::F32)).unwrap();
        assert_eq!(l32.dtype(), DType::F32);
    }

    fn check_svd(a: &Tensor, tol: f64) {
        let (m, n) = (a.shape()[0], a.shape()[1]);
        let k = m.min(n);
        let (u, s, vt) = svd(a).unwrap();
        assert_eq!((u.shape(), s.shape(), vt.shape()), (&[m, k][..], &[k][..], &[k, n][..]));
        let sv = s.to_vec::<f64>();
        assert!(sv.windows(2).all(|w| w[0] >= w[1]) && sv.iter().all(|&x| x >= 0.0), "{sv:?}");
        close_t(&matmul(&scale_cols(&u, &s), &vt).unwrap(), &a.astype(u.dtype()), tol);
        let ik = Tensor::eye(k, k, u.dtype()).unwrap();
        close_t(&matmul(&u.transpose(), &u).unwrap(), &ik, tol);
        close_t(&matmul(&vt, &vt.transpose()).unwrap(), &ik, tol);
    }

    #[test]
    fn svd_known_and_random() {
        // [[3, 0], [4, 5]] has singular values sqrt(45) and sqrt(5)
        let (_, s, _) = svd(&t(vec![3.0, 0.0, 4.0, 5.0], vec![2, 2])).unwrap();
        assert_close(&s.to_vec::<f64>(), &[45f64.sqrt(), 5f64.sqrt()], 1e-14);
        let (_, s, _) = svd(&t(vec![0.0, 0.0, 0.0, 0.0, 2.0, 0.0], vec![2, 3])).unwrap();
        assert_close(&s.to_vec::<f64>(), &[2.0, 0.0], 1e-15);
        for (m, n, seed) in [(1, 1, 1), (4, 3, 2), (3, 4, 3), (10, 10, 4), (150, 40, 5), (40, 150, 6), (100, 100, 7)] {
            check_svd(&randn(&[m, n], seed, DType::F64).unwrap(), 1e-10);
        }
        check_svd(&randn(&[5, 3], 8, DType::F32).unwrap(), 1e-4);
        // extreme magnitudes are scaled, not overflowed
        let big = crate::kernels::binary_scalar(crate::kernels::BinOp::Mul, &randn(&[4, 4], 9, DType::F64).unwrap(), crate::Scalar::Float(1e300), false).unwrap();
        check_svd(&big, 1e-10);
        // and so are tiny (subnormal) ones: the singular values scale exactly
        let r = randn(&[3, 3], 10, DType::F64).unwrap();
        let tiny = crate::kernels::binary_scalar(crate::kernels::BinOp::Mul, &r, crate::Scalar::Float(2f64.powi(-1060)), false).unwrap();
        let (s_tiny, s_r) = (svd(&tiny).unwrap().1.to_vec::<f64>(), svd(&r).unwrap().1.to_vec::<f64>());
        let rescaled: Vec<f64> = s_tiny.iter().map(|x| x * 2f64.powi(1000) * 2f64.powi(60)).collect();
        assert_close(&rescaled, &s_r, 1e-3);
        let (w_tiny, _) = eigh(&crate::kernels::binary(crate::kernels::BinOp::Add, &tiny, &tiny.transpose()).unwrap()).unwrap();
        assert!(w_tiny.to_vec::<f64>().iter().all(|x| x.is_finite()));
        let e = svd(&t(vec![f64::NAN, 1.0, 1.0, 1.0], vec![2, 2])).unwrap_err();
        assert_eq!(e.code, "N2105");
        let (u, s, vt) = svd(&Tensor::zeros(&[0, 3], DType::F64).unwrap()).unwrap();
        assert_eq!((u.shape(), s.shape(), vt.shape()), (&[0, 0][..], &[0][..], &[0, 3][..]));
    }

    #[test]
    fn eigh_known_and_random() {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3
        let (w, v) = eigh(&t(vec![2.0, 1.0, 1.0, 2.0], vec![2, 2])).unwrap();
        assert_close(&w.to_vec::<f64>(), &[1.0, 3.0], 1e-14);
        let vv = v.to_vec::<f64>();
        let h = 0.5f64.sqrt();
        assert_close(&[vv[0].abs(), vv[1].abs(), vv[2].abs(), vv[3].abs()], &[h, h, h, h], 1e-14);
        // only the lower triangle is read
        let (w, _) = eigh(&t(vec![2.0, 99.0, 1.0, 2.0], vec![2, 2])).unwrap();
        assert_close(&w.to_vec::<f64>(), &[1.0, 3.0], 1e-14);
        let (w, _) = eigh(&t(vec![2.0, f64::NAN, 1.0, 2.0], vec![2, 2])).unwrap();
        assert_close(&w.to_vec::<f64>(), &[1.0, 3.0], 1e-14);
        for (n, seed) in [(1, 1), (3, 2), (10, 3), (60, 4), (140, 5)] {
            let x = randn(&[n, n], seed, DType::F64).unwrap();
            let a = crate::kernels::binary(crate::kernels::BinOp::Add, &x, &x.transpose()).unwrap();
            let (w, v) = eigh(&a).unwrap();
            let wv = w.to_vec::<f64>();
            assert!(wv.windows(2).all(|p| p[0] <= p[1]));
            close_t(&matmul(&a, &v).unwrap(), &scale_cols(&v, &w), 1e-9);
            close_t(&matmul(&v.transpose(), &v).unwrap(), &eye(n), 1e-10);
        }
        let a32 = spd(5, 6).astype(DType::F32);
        let (w, v) = eigh(&a32).unwrap();
        assert_eq!((w.dtype(), v.dtype()), (DType::F32, DType::F32));
        close_t(&matmul(&a32, &v).unwrap(), &scale_cols(&v, &w), 1e-3);
        assert_eq!(eigh(&t(vec![f64::INFINITY, 0.0, 0.0, 1.0], vec![2, 2])).unwrap_err().code, "N2105");
        assert_eq!(eigh(&t(vec![1.0; 6], vec![3, 2])).unwrap_err().message, "eigh: expected a square matrix, got shape (3, 2)");
        let (w, v) = eigh(&Tensor::zeros(&[0, 0], DType::F64).unwrap()).unwrap();
        assert_eq!((w.shape(), v.shape()), (&[0][..], &[0, 0][..]));
    }

    #[test]
    fn norms() {
        let a = t(vec![1.0, -2.0, 3.0, -4.0], vec![2, 2]);
        assert!((norm(&a, None).unwrap() - 30f64.sqrt()).abs() < 1e-14);
        assert!((norm(&a, Some("fro")).unwrap() - 30f64.sqrt()).abs() < 1e-14);
        assert_eq!(norm(&a, Some("inf")).unwrap(), 7.0);
        assert_eq!(norm(&a, Some("1")).unwrap(), 6.0);
        // numpy: norm([[1, -2], [3, -4]], 2) = 5.464985704219043, 'nuc' = 5.830951894845301
        assert!((norm(&a, Some("2")).unwrap() - 5.464985704219043).abs() < 1e-13);
        assert!((norm(&a, Some("nuc")).unwrap() - 5.830951894845301).abs() < 1e-13);
        let v = t(vec![3.0, -4.0], vec![2]);
        assert_eq!(norm(&v, None).unwrap(), 5.0);
        assert_eq!(norm(&v, Some("2")).unwrap(), 5.0);
        assert_eq!(norm(&v, Some("inf")).unwrap(), 4.0);
        assert_eq!(norm(&v, Some("1")).unwrap(), 7.0);
        assert_eq!(norm(&v, Some("nuc")).unwrap_err().code, "N2101");
        let e = norm(&v, Some("3")).unwrap_err();
        assert_eq!(e.code, "N2104");
        assert!(e.message.contains("\"nuc\""), "{}", e.message);
        let cube = Tensor::full(&[2, 2, 2], crate::Scalar::Float(1.0), DType::F64).unwrap();
        assert!((norm(&cube, None).unwrap() - 8f64.sqrt()).abs() < 1e-15);
        assert_eq!(norm(&cube, Some("2")).unwrap_err().code, "N2101");
        assert_eq!(norm(&t(vec![1e200, 1e200], vec![2]), None).unwrap(), 2f64.sqrt() * 1e200);
        assert!(norm(&t(vec![f64::NAN, 1.0, 1.0, 1.0], vec![2, 2]), Some("2")).unwrap().is_nan());
        assert!(norm(&t(vec![f64::NAN, 1.0], vec![2]), Some("inf")).unwrap().is_nan());
        assert_eq!(norm(&Tensor::zeros(&[0, 3], DType::F64).unwrap(), Some("nuc")).unwrap(), 0.0);
        assert_eq!(norm(&Tensor::zeros(&[0], DType::F64).unwrap(), None).unwrap(), 0.0);
        let ai = Tensor::from_vec(vec![true, false, true], vec![3]).unwrap();
        assert_eq!(norm(&ai, Some("1")).unwrap(), 2.0);
        let r = randn(&[20, 30], 3, DType::F64).unwrap();
        let (_, s, _) = svd(&r).unwrap();
        assert!((norm(&r, Some("2")).unwrap() - s.to_vec::<f64>()[0]).abs() < 1e-12);
    }

    #[test]
    fn least_squares() {
        // fit y = c0 + c1 x through (0, 1), (1, 3), (2, 4), (3, 4): numpy gives [1.5, 1.0]
        let a = t(vec![1.0, 0.0, 1.0, 1.0, 1.0, 2.0, 1.0, 3.0], vec![4, 2]);
        let x = lstsq(&a, &t(vec![1.0, 3.0, 4.0, 4.0], vec![4])).unwrap();
        assert_eq!(x.shape(), &[2]);
        assert_close(&x.to_vec::<f64>(), &[1.5, 1.0], 1e-13);
        // a square, invertible system agrees with solve
        let r = randn(&[12, 12], 1, DType::F64).unwrap();
        let b = randn(&[12, 2], 2, DType::F64).unwrap();
        close_t(&lstsq(&r, &b).unwrap(), &solve(&r, &b).unwrap(), 1e-8);
        // overdetermined random: the residual is orthogonal to the columns of a
        let a = randn(&[80, 6], 3, DType::F64).unwrap();
        let b = randn(&[80, 3], 4, DType::F64).unwrap();
        let x_over = lstsq(&a, &b).unwrap();
        assert_eq!(x_over.shape(), &[6, 3]);
        let res = crate::kernels::binary(crate::kernels::BinOp::Sub, &matmul(&a, &x_over).unwrap(), &b).unwrap();
        close_t(&matmul(&a.transpose(), &res).unwrap(), &Tensor::zeros(&[6, 3], DType::F64).unwrap(), 1e-10);
        // rank deficient: minimum-norm solution (numpy: lstsq([[1, 1], [1, 1]], [2, 2]) = [1, 1])
        let x = lstsq(&t(vec![1.0, 1.0, 1.0, 1.0], vec![2, 2]), &t(vec![2.0, 2.0], vec![2])).unwrap();
        assert_close(&x.to_vec::<f64>(), &[1.0, 1.0], 1e-13);
        // under-determined: x + y = 2 -> [1, 1]
        let x = lstsq(&t(vec![1.0, 1.0], vec![1, 2]), &t(vec![2.0], vec![1])).unwrap();
        assert_close(&x.to_vec::<f64>(), &[1.0, 1.0], 1e-13);
        let x32 = lstsq(&a.astype(DType::F32), &b.astype(DType::F32)).unwrap();
        assert_eq!(x32.dtype(), DType::F32);
        close_t(&x32, &x_over, 1e-3);
        assert_eq!(lstsq(&a, &t(vec![1.0; 3], vec![3])).unwrap_err().code, "N2101");
        assert_eq!(lstsq(&t(vec![f64::NAN, 1.0], vec![2, 1]), &t(vec![1.0, 1.0], vec![2])).unwrap_err().code, "N2105");
        let x = lstsq(&Tensor::zeros(&[0, 3], DType::F64).unwrap(), &Tensor::zeros(&[0], DType::F64).unwrap()).unwrap();
        assert_eq!(x.to_vec::<f64>(), vec![0.0; 3]);
    }

    /// None of the functions panics on awkward input.
    #[test]
    fn no_panics_on_awkward_input() {
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        let inputs = vec![
            t(vec![nan; 4], vec![2, 2]),
            t(vec![inf, -inf, inf, 1.0], vec![2, 2]),
            t(vec![1e308, 1e308, -1e308, 1e308], vec![2, 2]),
            t(vec![1e-320, 0.0, 0.0, 1e-320], vec![2, 2]),
            t(vec![0.0; 9], vec![3, 3]),
            t(vec![nan, 1.0, 2.0, 3.0, 4.0, 5.0], vec![2, 3]),
            t(vec![nan, 1.0, 2.0, 3.0, 4.0, 5.0], vec![3, 2]),
            Tensor::zeros(&[0, 0], DType::F64).unwrap(),
            Tensor::zeros(&[0, 4], DType::F64).unwrap(),
            Tensor::zeros(&[4, 0], DType::F32).unwrap(),
            Tensor::zeros(&[], DType::F64).unwrap(),
            Tensor::zeros(&[3], DType::I64).unwrap(),
            Tensor::zeros(&[2, 2, 2], DType::Bool).unwrap(),
            randn(&[5, 5], 1, DType::F32).unwrap().transpose(),
        ];
        for a in &inputs {
            let b = Tensor::zeros(&[a.shape().first().copied().unwrap_or(0)], DType::F64).unwrap();
            let _ = solve(a, &b);
            let _ = lstsq(a, &b);
            let _ = inv(a);
            let _ = det(a);
            let _ = qr(a);
            let _ = cholesky(a);
            let _ = svd(a);
            let _ = eigh(a);
            for ord in [None, Some("fro"), Some("inf"), Some("1"), Some("2"), Some("nuc"), Some("bogus")] {
                let _ = norm(a, ord);
            }
        }
        let n = t(vec![nan; 4], vec![2, 2]);
        assert!(det(&n).unwrap().is_nan());
        let (q, _) = qr(&n).unwrap();
        assert_eq!(q.shape(), &[2, 2]);
        let x = solve(&n, &t(vec![1.0, 1.0], vec![2])).unwrap();
        assert!(x.to_vec::<f64>().iter().all(|v| v.is_nan()));
        // a huge but finite system whose solution overflows is reported as singular
        let e = solve(&t(vec![1e-300, 0.0, 0.0, 1e-300], vec![2, 2]), &t(vec![1e300, 1.0], vec![2])).unwrap_err();
        assert_eq!(e.code, "N2105");
    }
}

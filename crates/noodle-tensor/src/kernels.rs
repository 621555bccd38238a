//! Elementwise kernels with broadcasting, and the structural operations built on them (`where`,
//! `concat`, `stack`, `split`, `sort`, `topk`).
//!
//! Every kernel has a fast path for contiguous operands of the same shape (a plain loop over
//! slices that the compiler vectorises, split across rayon's threads when the tensor is large)
//! and a general strided path.

use noodle_codes::N2001;
use crate::{broadcast_shapes, norm_axis, numel_of, shape_str, with_dtype, DType, Elem, Result, Scalar, Tensor, TensorError};
use rayon::prelude::*;

/// Tensors at least this large are split across threads.
pub const PAR_MIN: usize = 1 << 16;
const CHUNK: usize = 1 << 14;

/// Converts one element between element types (`x != 0` to bool, truncation to i64).
#[inline(always)]
pub fn convert<S: Elem, T: Elem>(x: S) -> T {
    match (S::DTYPE, T::DTYPE) {
        (_, DType::Bool) => T::from_bool(x.to_f64() != 0.0),
        (DType::I64, _) | (DType::Bool, _) => T::from_i64(x.to_i64()),
        _ => T::from_f64(x.to_f64()),
    }
}

/// Visits `N` strided views of one shape together, in row-major order, passing each one's
/// buffer index. The innermost axis is a tight loop.
pub fn walk<const N: usize>(shape: &[usize], strides: [&[isize]; N], offsets: [usize; N], mut f: impl FnMut([usize; N])) {
    if shape.iter().any(|&d| d == 0) {
        return;
    }
    if shape.is_empty() {
        f(offsets);
        return;
    }
    let nd = shape.len();
    let inner = shape[nd - 1];
    let inner_strides: [isize; N] = std::array::from_fn(|k| strides[k][nd - 1]);
    let mut counter = vec![0usize; nd - 1];
    let mut base: [isize; N] = std::array::from_fn(|k| offsets[k] as isize);
    loop {
        let mut ix = base;
        for _ in 0..inner {
            f(std::array::from_fn(|k| ix[k] as usize));
            for k in 0..N {
                ix[k] += inner_strides[k];
            }
        }
        // advance the odometer over the outer axes
        let mut axis = nd - 1;
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            counter[axis] += 1;
            for k in 0..N {
                base[k] += strides[k][axis];
            }
            if counter[axis] < shape[axis] {
                break;
            }
            for k in 0..N {
                base[k] -= strides[k][axis] * shape[axis] as isize;
            }
            counter[axis] = 0;
        }
    }
}

/// Numeric element types (the arithmetic of i64 wraps, as NumPy's does).
pub trait Num: Elem + Default {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn floordiv(self, o: Self) -> Self;
    fn rem(self, o: Self) -> Self;
    fn pow(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    fn zero() -> Self;
    fn one() -> Self;
    fn min_of(self, o: Self) -> Self;
    fn max_of(self, o: Self) -> Self;
    fn lowest() -> Self;
    fn highest() -> Self;
}

impl Num for i64 {
    fn add(self, o: i64) -> i64 {
        self.wrapping_add(o)
    }
    fn sub(self, o: i64) -> i64 {
        self.wrapping_sub(o)
    }
    fn mul(self, o: i64) -> i64 {
        self.wrapping_mul(o)
    }
    fn div(self, o: i64) -> i64 {
        // zero divisors are rejected before the loop
        if o == 0 { 0 } else { self.wrapping_div(o) }
    }
    fn floordiv(self, o: i64) -> i64 {
        if o == 0 {
            return 0;
        }
        // wrapping: i64::MIN // -1 wraps (as NumPy's), where `%` would panic
        let q = self.wrapping_div(o);
        if (self.wrapping_rem(o) != 0) && ((self < 0) != (o < 0)) { q - 1 } else { q }
    }
    fn rem(self, o: i64) -> i64 {
        if o == 0 {
            return 0;
        }
        let r = self.wrapping_rem(o);
        if r != 0 && ((r < 0) != (o < 0)) { r + o } else { r }
    }
    fn pow(self, o: i64) -> i64 {
        if o < 0 { 0 } else { self.wrapping_pow(o.min(u32::MAX as i64) as u32) }
    }
    fn neg(self) -> i64 {
        self.wrapping_neg()
    }
    fn abs(self) -> i64 {
        self.wrapping_abs()
    }
    fn zero() -> i64 {
        0
    }
    fn one() -> i64 {
        1
    }
    fn min_of(self, o: i64) -> i64 {
        self.min(o)
    }
    fn max_of(self, o: i64) -> i64 {
        self.max(o)
    }
    fn lowest() -> i64 {
        i64::MIN
    }
    fn highest() -> i64 {
        i64::MAX
    }
}

macro_rules! float_num {
    ($t:ty) => {
        impl Num for $t {
            #[inline(always)]
            fn add(self, o: $t) -> $t {
                self + o
            }
            #[inline(always)]
            fn sub(self, o: $t) -> $t {
                self - o
            }
            #[inline(always)]
            fn mul(self, o: $t) -> $t {
                self * o
            }
            #[inline(always)]
            fn div(self, o: $t) -> $t {
                self / o
            }
            fn floordiv(self, o: $t) -> $t {
                (self / o).floor()
            }
            fn rem(self, o: $t) -> $t {
                let r = self % o;
                if r != 0.0 && ((r < 0.0) != (o < 0.0)) { r + o } else { r }
            }
            fn pow(self, o: $t) -> $t {
                self.powf(o)
            }
            #[inline(always)]
            fn neg(self) -> $t {
                -self
            }
            #[inline(always)]
            fn abs(self) -> $t {
                self.abs()
            }
            fn zero() -> $t {
                0.0
            }
            fn one() -> $t {
                1.0
            }
            // NaN propagates, as in NumPy's minimum/maximum
            #[inline(always)]
            fn min_of(self, o: $t) -> $t {
                if self.is_nan() || o.is_nan() { <$t>::NAN } else { self.min(o) }
            }
            #[inline(always)]
            fn max_of(self, o: $t) -> $t {
                if self.is_nan() || o.is_nan() { <$t>::NAN } else { self.max(o) }
            }
            fn lowest() -> $t {
                <$t>::NEG_INFINITY
            }
            fn highest() -> $t {
                <$t>::INFINITY
            }
        }
    };
}
float_num!(f32);
float_num!(f64);

/// Binary elementwise operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    Minimum,
    Maximum,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Xor,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
            BinOp::Minimum => "minimum",
            BinOp::Maximum => "maximum",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
        }
    }
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
    }
    pub fn is_logical(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Xor)
    }
    /// The dtype the operands are converted to before the operation.
    pub fn compute_dtype(self, a: DType, b: DType) -> Result<DType> {
        let p = DType::promote(a, b);
        if self.is_logical() {
            return if p <= DType::I64 { Ok(p) } else { Err(TensorError::arg(format!("operator `{}` needs bool or i64 tensors, not {}", self.symbol(), p.name()))) };
        }
        if self.is_comparison() {
            return Ok(p);
        }
        Ok(match self {
            BinOp::Div => p.float_of(),
            _ if p == DType::Bool => DType::I64,
            _ => p,
        })
    }
    /// The dtype of the result.
    pub fn result_dtype(self, a: DType, b: DType) -> Result<DType> {
        if self.is_comparison() {
            return Ok(DType::Bool);
        }
        self.compute_dtype(a, b)
    }
}

/// Unary elementwise operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Abs,
    Not,
    Exp,
    Log,
    Sqrt,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    Floor,
    Ceil,
    Round,
}

impl UnOp {
    pub fn name(self) -> &'static str {
        match self {
            UnOp::Neg => "neg",
            UnOp::Abs => "abs",
            UnOp::Not => "logical_not",
            UnOp::Exp => "exp",
            UnOp::Log => "log",
            UnOp::Sqrt => "sqrt",
            UnOp::Sin => "sin",
            UnOp::Cos => "cos",
            UnOp::Tanh => "tanh",
            UnOp::Sigmoid => "sigmoid",
            UnOp::Relu => "relu",
            UnOp::Floor => "floor",
            UnOp::Ceil => "ceil",
            UnOp::Round => "round",
        }
    }
    /// Float functions turn integer input into f64.
    pub fn result_dtype(self, a: DType) -> Result<DType> {
        match self {
            UnOp::Not => Ok(DType::Bool),
            UnOp::Neg | UnOp::Abs | UnOp::Relu => Ok(if a == DType::Bool { DType::I64 } else { a }),
            UnOp::Floor | UnOp::Ceil | UnOp::Round if a == DType::I64 => Ok(a),
            _ => Ok(a.float_of()),
        }
    }
}

/// An empty vector with room for `n` elements. Large ones ask the kernel for transparent huge
/// pages (as NumPy does), which cuts the page faults of first touching the memory 512-fold.
pub fn with_capacity<T>(n: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(n);
    advise_huge(v.as_ptr() as usize, n * std::mem::size_of::<T>());
    v
}

const HUGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
fn advise_huge(addr: usize, bytes: usize) {
    if bytes < 2 * HUGE {
        return;
    }
    // only whole huge pages inside the allocation
    let start = (addr + HUGE - 1) & !(HUGE - 1);
    let end = (addr + bytes) & !(HUGE - 1);
    if end > start {
        // Safety: the range lies inside an allocation this process owns; the advice changes
        // only how the kernel backs it, never its contents. A failure is harmless.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_addr: usize, _bytes: usize) {}

/// Applies `f` to every element of a contiguous slice into a new vector, in parallel when large.
fn map_slice<S: Elem, T: Elem>(src: &[S], f: impl Fn(S) -> T + Sync + Send) -> Vec<T> {
    let n = src.len();
    let mut out: Vec<T> = with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    let run = |o: &mut [std::mem::MaybeUninit<T>], s: &[S]| {
        for (o, &s) in o.iter_mut().zip(s) {
            o.write(f(s));
        }
    };
    if n >= PAR_MIN {
        spare.par_chunks_mut(CHUNK).zip(src.par_chunks(CHUNK)).for_each(|(o, s)| run(o, s));
    } else {
        run(spare, src);
    }
    // Safety: every one of the first `n` slots was written above.
    unsafe { out.set_len(n) };
    out
}

fn zip_slices<S: Elem, T: Elem>(a: &[S], b: &[S], f: impl Fn(S, S) -> T + Sync + Send) -> Vec<T> {
    let n = a.len();
    let mut out: Vec<T> = with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    let run = |o: &mut [std::mem::MaybeUninit<T>], a: &[S], b: &[S]| {
        for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
            o.write(f(x, y));
        }
    };
    if n >= PAR_MIN {
        spare.par_chunks_mut(CHUNK).zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK))).for_each(|(o, (a, b))| run(o, a, b));
    } else {
        run(spare, a, b);
    }
    // Safety: every one of the first `n` slots was written above.
    unsafe { out.set_len(n) };
    out
}

/// `f` over every element of `a` (of element type `S`) into a new contiguous tensor.
pub fn map<S: Elem, T: Elem>(a: &Tensor, f: impl Fn(S) -> T + Sync + Send) -> Tensor {
    let d = a.buffer().read();
    let s = S::slice(&d);
    let out = if a.is_contiguous() {
        map_slice(&s[a.offset()..a.offset() + a.numel()], f)
    } else {
        let mut out = Vec::with_capacity(a.numel());
        walk(a.shape(), [a.strides()], [a.offset()], |[i]| out.push(f(s[i])));
        out
    };
    Tensor::from_vec(out, a.shape().to_vec()).expect("same shape")
}

/// `f` over broadcast pairs of elements of `a` and `b` (both of element type `S`).
pub fn map2<S: Elem, T: Elem>(a: &Tensor, b: &Tensor, f: impl Fn(S, S) -> T + Sync + Send) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    crate::check_alloc(&shape, T::DTYPE)?;
    let (da, db) = (a.buffer().read(), if a.shares_buffer(b) { None } else { Some(b.buffer().read()) });
    let sa = S::slice(&da);
    let sb = S::slice(db.as_deref().unwrap_or(&da));
    let (na, nb) = (a.numel(), b.numel());
    let out = if a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous() {
        zip_slices(&sa[a.offset()..a.offset() + na], &sb[b.offset()..b.offset() + nb], f)
    } else if nb == 1 && a.shape() == shape.as_slice() && a.is_contiguous() {
        let y = sb[b.offset()];
        map_slice(&sa[a.offset()..a.offset() + na], |x| f(x, y))
    } else if na == 1 && b.shape() == shape.as_slice() && b.is_contiguous() {
        let x = sa[a.offset()];
        map_slice(&sb[b.offset()..b.offset() + nb], |y| f(x, y))
    } else {
        let (ba, bb) = (a.broadcast_to(&shape)?, b.broadcast_to(&shape)?);
        let mut out = Vec::with_capacity(numel_of(&shape)?);
        walk(&shape, [ba.strides(), bb.strides()], [ba.offset(), bb.offset()], |[i, j]| out.push(f(sa[i], sb[j])));
        out
    };
    Tensor::from_vec(out, shape)
}

macro_rules! arith {
    ($op:expr, $T:ty, $a:expr, $b:expr) => {
        match $op {
            BinOp::Add => map2::<$T, $T>($a, $b, |x, y| Num::add(x, y)),
            BinOp::Sub => map2::<$T, $T>($a, $b, |x, y| Num::sub(x, y)),
            BinOp::Mul => map2::<$T, $T>($a, $b, |x, y| Num::mul(x, y)),
            BinOp::Div => map2::<$T, $T>($a, $b, |x, y| Num::div(x, y)),
            BinOp::FloorDiv => map2::<$T, $T>($a, $b, |x, y| Num::floordiv(x, y)),
            BinOp::Mod => map2::<$T, $T>($a, $b, |x, y| Num::rem(x, y)),
            BinOp::Pow => map2::<$T, $T>($a, $b, |x, y| Num::pow(x, y)),
            BinOp::Minimum => map2::<$T, $T>($a, $b, |x, y| Num::min_of(x, y)),
            BinOp::Maximum => map2::<$T, $T>($a, $b, |x, y| Num::max_of(x, y)),
            BinOp::Eq => map2::<$T, bool>($a, $b, |x, y| x == y),
            BinOp::Ne => map2::<$T, bool>($a, $b, |x, y| x != y),
            BinOp::Lt => map2::<$T, bool>($a, $b, |x, y| x < y),
            BinOp::Le => map2::<$T, bool>($a, $b, |x, y| x <= y),
            BinOp::Gt => map2::<$T, bool>($a, $b, |x, y| x > y),
            BinOp::Ge => map2::<$T, bool>($a, $b, |x, y| x >= y),
            BinOp::And | BinOp::Or | BinOp::Xor => unreachable!("logical operators are handled before"),
        }
    };
}

/// `a op b` with broadcasting and type promotion.
pub fn binary(op: BinOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let ct = op.compute_dtype(a.dtype(), b.dtype())?;
    let (a, b) = (a.astype(ct), b.astype(ct));
    if matches!(op, BinOp::FloorDiv | BinOp::Mod | BinOp::Div) && ct == DType::I64 && b.to_vec::<i64>().contains(&0) {
        return Err(TensorError::new(N2001, format!("integer division by zero in tensor `{}`", op.symbol())));
    }
    // as NumPy: an int result has no value for 2 ** -1 (it was 0, silently)
    if op == BinOp::Pow && ct == DType::I64 && b.to_vec::<i64>().iter().any(|&y| y < 0) {
        return Err(TensorError::arg("tensor `**`: an int tensor cannot be raised to a negative int power (convert to float first: `t.astype(\"f64\") ** -1`)"));
    }
    if op.is_logical() {
        return match ct {
            DType::Bool => match op {
                BinOp::And => map2::<bool, bool>(&a, &b, |x, y| x & y),
                BinOp::Or => map2::<bool, bool>(&a, &b, |x, y| x | y),
                _ => map2::<bool, bool>(&a, &b, |x, y| x ^ y),
            },
            _ => match op {
                BinOp::And => map2::<i64, i64>(&a, &b, |x, y| x & y),
                BinOp::Or => map2::<i64, i64>(&a, &b, |x, y| x | y),
                _ => map2::<i64, i64>(&a, &b, |x, y| x ^ y),
            },
        };
    }
    match ct {
        DType::Bool => match op {
            BinOp::Eq => map2::<bool, bool>(&a, &b, |x, y| x == y),
            BinOp::Ne => map2::<bool, bool>(&a, &b, |x, y| x != y),
            BinOp::Lt => map2::<bool, bool>(&a, &b, |x, y| !x & y),
            BinOp::Le => map2::<bool, bool>(&a, &b, |x, y| x <= y),
            BinOp::Gt => map2::<bool, bool>(&a, &b, |x, y| x & !y),
            _ => map2::<bool, bool>(&a, &b, |x, y| x >= y),
        },
        DType::I64 => arith!(op, i64, &a, &b),
        DType::F32 => arith!(op, f32, &a, &b),
        DType::F64 => arith!(op, f64, &a, &b),
    }
}

/// `a op scalar` (or `scalar op a` when `scalar_first`), with NumPy's rule that a Python
/// scalar does not widen the tensor's type within its kind.
pub fn binary_scalar(op: BinOp, a: &Tensor, s: Scalar, scalar_first: bool) -> Result<Tensor> {
    let st = s.meet(a.dtype());
    let b = Tensor::scalar(s, st);
    if scalar_first {
        binary(op, &b, a)
    } else {
        binary(op, a, &b)
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

macro_rules! float_un {
    ($op:expr, $T:ty, $a:expr) => {
        match $op {
            UnOp::Exp => map::<$T, $T>($a, |x| x.exp()),
            UnOp::Log => map::<$T, $T>($a, |x| x.ln()),
            UnOp::Sqrt => map::<$T, $T>($a, |x| x.sqrt()),
            UnOp::Sin => map::<$T, $T>($a, |x| x.sin()),
            UnOp::Cos => map::<$T, $T>($a, |x| x.cos()),
            UnOp::Tanh => map::<$T, $T>($a, |x| x.tanh()),
            UnOp::Sigmoid => map::<$T, $T>($a, |x| sigmoid(x as f64) as $T),
            UnOp::Floor => map::<$T, $T>($a, |x| x.floor()),
            UnOp::Ceil => map::<$T, $T>($a, |x| x.ceil()),
            UnOp::Round => map::<$T, $T>($a, |x| x.round_ties_even()),
            UnOp::Neg => map::<$T, $T>($a, |x| -x),
            UnOp::Abs => map::<$T, $T>($a, |x| x.abs()),
            UnOp::Relu => map::<$T, $T>($a, |x| if x > 0.0 { x } else { 0.0 }),
            UnOp::Not => map::<$T, bool>($a, |x| x == 0.0),
        }
    };
}

/// An elementwise function of one tensor.
pub fn unary(op: UnOp, a: &Tensor) -> Result<Tensor> {
    let rt = op.result_dtype(a.dtype())?;
    if op == UnOp::Not {
        return Ok(with_dtype!(a.dtype(), T => map::<T, bool>(a, |x| !convert::<T, bool>(x))));
    }
    let a = a.astype(rt);
    Ok(match rt {
        DType::F32 => float_un!(op, f32, &a),
        DType::F64 => float_un!(op, f64, &a),
        _ => match op {
            UnOp::Neg => map::<i64, i64>(&a, |x| x.wrapping_neg()),
            UnOp::Abs => map::<i64, i64>(&a, |x| x.wrapping_abs()),
            UnOp::Relu => map::<i64, i64>(&a, |x| x.max(0)),
            _ => a.copy(),
        },
    })
}

/// Clamps every element into `[lo, hi]` (either bound may be absent).
pub fn clip(a: &Tensor, lo: Option<Scalar>, hi: Option<Scalar>) -> Result<Tensor> {
    let mut out = a.clone();
    if let Some(lo) = lo {
        out = binary_scalar(BinOp::Maximum, &out, lo, false)?;
    }
    if let Some(hi) = hi {
        out = binary_scalar(BinOp::Minimum, &out, hi, false)?;
    }
    if lo.is_none() && hi.is_none() {
        out = a.copy();
    }
    Ok(out)
}

/// `cond ? a : b` elementwise, all three broadcast together.
pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let shape = broadcast_shapes(&broadcast_shapes(cond.shape(), a.shape())?, b.shape())?;
    let ct = DType::promote(a.dtype(), b.dtype());
    crate::check_alloc(&shape, ct)?;
    let c = cond.astype(DType::Bool).broadcast_to(&shape)?.contiguous();
    let (a, b) = (a.astype(ct).broadcast_to(&shape)?.contiguous(), b.astype(ct).broadcast_to(&shape)?.contiguous());
    let cv = c.to_vec::<bool>();
    Ok(with_dtype!(ct, T => {
        let (av, bv) = (a.to_vec::<T>(), b.to_vec::<T>());
        let out: Vec<T> = cv.iter().zip(av.iter().zip(&bv)).map(|(&c, (&x, &y))| if c { x } else { y }).collect();
        Tensor::from_vec(out, shape)?
    }))
}

/// Joins tensors along an existing axis.
pub fn concat(ts: &[Tensor], axis: i64) -> Result<Tensor> {
    let first = ts.first().ok_or_else(|| TensorError::arg("concat needs at least one tensor"))?;
    let nd = first.ndim();
    if nd == 0 {
        return Err(TensorError::shape("concat: zero-dimensional tensors cannot be joined (use stack)"));
    }
    let ax = norm_axis(axis, nd)?;
    let dtype = ts.iter().map(|t| t.dtype()).fold(first.dtype(), DType::promote);
    let mut shape = first.shape().to_vec();
    shape[ax] = 0;
    for t in ts {
        let ok = t.ndim() == nd && (0..nd).all(|i| i == ax || t.shape()[i] == first.shape()[i]);
        if !ok {
            return Err(TensorError::shape(format!("concat: shapes {} and {} differ outside axis {ax}", shape_str(first.shape()), shape_str(t.shape()))));
        }
        shape[ax] += t.shape()[ax];
    }
    let out = Tensor::zeros(&shape, dtype)?;
    let mut start = 0i64;
    for t in ts {
        let len = t.shape()[ax] as i64;
        let mut items = vec![crate::IndexItem::Range { start: None, stop: None, step: None }; ax + 1];
        items[ax] = crate::IndexItem::Range { start: Some(start), stop: Some(start + len), step: None };
        out.index(&items)?.assign(t)?;
        start += len;
    }
    Ok(out)
}

/// Joins tensors of one shape along a new axis.
pub fn stack(ts: &[Tensor], axis: i64) -> Result<Tensor> {
    let first = ts.first().ok_or_else(|| TensorError::arg("stack needs at least one tensor"))?;
    for t in ts {
        if t.shape() != first.shape() {
            return Err(TensorError::shape(format!("stack: all tensors need the same shape, not {} and {}", shape_str(first.shape()), shape_str(t.shape()))));
        }
    }
    let ax = norm_axis(axis, first.ndim() + 1)? as i64;
    let parts: Vec<Tensor> = ts.iter().map(|t| t.unsqueeze(ax)).collect::<Result<_>>()?;
    concat(&parts, ax)
}

/// Splits into `sections` equal parts along an axis (views).
pub fn split(t: &Tensor, sections: usize, axis: i64) -> Result<Vec<Tensor>> {
    let ax = norm_axis(axis, t.ndim())?;
    let len = t.shape()[ax];
    if sections == 0 || len % sections != 0 {
        return Err(TensorError::shape(format!("split: axis {ax} of length {len} cannot be split into {sections} equal parts")));
    }
    let size = (len / sections) as i64;
    (0..sections as i64)
        .map(|k| {
            let mut items = vec![crate::IndexItem::Range { start: None, stop: None, step: None }; ax + 1];
            items[ax] = crate::IndexItem::Range { start: Some(k * size), stop: Some((k + 1) * size), step: None };
            t.index(&items)
        })
        .collect()
}

/// Orders along an axis. NaN sorts last; the sort is stable. Returns the sorted values and the
/// indices (in the original positions) that produce them.
pub fn sort(t: &Tensor, axis: i64, descending: bool) -> Result<(Tensor, Tensor)> {
    if t.ndim() == 0 {
        return Ok((t.copy(), Tensor::zeros(&[], DType::I64)?));
    }
    let ax = norm_axis(axis, t.ndim())?;
    let last = t.ndim() as i64 - 1;
    let moved = t.swapaxes(ax as i64, last)?.contiguous();
    let len = moved.shape()[moved.ndim() - 1];
    let (vals, idx) = with_dtype!(t.dtype(), T => {
        let data = moved.to_vec::<T>();
        let mut vals = Vec::with_capacity(data.len());
        let mut idx = Vec::with_capacity(data.len());
        if len > 0 {
            for row in data.chunks(len) {
                let mut order: Vec<usize> = (0..len).collect();
                // `x != x` is the NaN test for every element type
                #[allow(clippy::eq_op)]
                order.sort_by(|&i, &j| {
                    let (x, y) = (row[i], row[j]);
                    let o = match x.partial_cmp(&y) {
                        Some(o) => o,
                        // NaN last in both directions
                        None => (x != x).cmp(&(y != y)).then(std::cmp::Ordering::Equal),
                    };
                    if descending && x == x && y == y { o.reverse() } else { o }
                });
                vals.extend(order.iter().map(|&i| row[i]));
                idx.extend(order.iter().map(|&i| i as i64));
            }
        }
        (Tensor::from_vec(vals, moved.shape().to_vec())?, Tensor::from_vec(idx, moved.shape().to_vec())?)
    });
    Ok((vals.swapaxes(ax as i64, last)?.contiguous(), idx.swapaxes(ax as i64, last)?.contiguous()))
}

/// The `k` largest values along the last axis, largest first, with their indices.
pub fn topk(t: &Tensor, k: usize) -> Result<(Tensor, Tensor)> {
    if t.ndim() == 0 {
        return Err(TensorError::shape("topk needs a tensor with at least one dimension"));
    }
    let len = t.shape()[t.ndim() - 1];
    if k > len {
        return Err(TensorError::arg(format!("topk: k = {k} is larger than the last axis ({len})")));
    }
    let (v, i) = sort(t, -1, true)?;
    let items = |t: &Tensor| {
        let mut items = vec![crate::IndexItem::Range { start: None, stop: None, step: None }; t.ndim()];
        items[t.ndim() - 1] = crate::IndexItem::Range { start: None, stop: Some(k as i64), step: None };
        items
    };
    Ok((v.index(&items(&v))?.contiguous(), i.index(&items(&i))?.contiguous()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: Vec<f64>, shape: Vec<usize>) -> Tensor {
        Tensor::from_vec(v, shape).unwrap()
    }

    #[test]
    fn broadcasting_add() {
        let a = t(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![2, 3]);
        let b = t(vec![10.0, 20.0], vec![2, 1]);
        let c = binary(BinOp::Add, &a, &b).unwrap();
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.to_vec::<f64>(), vec![11.0, 12.0, 13.0, 24.0, 25.0, 26.0]);
        let e = binary(BinOp::Add, &a, &t(vec![1.0; 5], vec![5])).unwrap_err();
        assert_eq!(e.message, "cannot broadcast shapes (2, 3) and (5,)");
    }

    #[test]
    fn int_floor_division_follows_python() {
        let a = Tensor::from_vec(vec![7i64, -7, 7, -7], vec![4]).unwrap();
        let b = Tensor::from_vec(vec![2i64, 2, -2, -2], vec![4]).unwrap();
        assert_eq!(binary(BinOp::FloorDiv, &a, &b).unwrap().to_vec::<i64>(), vec![3, -4, -4, 3]);
        assert_eq!(binary(BinOp::Mod, &a, &b).unwrap().to_vec::<i64>(), vec![1, 1, -1, -1]);
        let z = Tensor::from_vec(vec![0i64], vec![1]).unwrap();
        assert_eq!(binary(BinOp::FloorDiv, &a, &z).unwrap_err().code, "N2001");
    }

    #[test]
    fn sort_and_topk() {
        let a = t(vec![3.0, 1.0, 2.0, f64::NAN, 0.0], vec![5]);
        let (v, i) = sort(&a, 0, false).unwrap();
        assert_eq!(&v.to_vec::<f64>()[..4], &[0.0, 1.0, 2.0, 3.0]);
        assert_eq!(i.to_vec::<i64>(), vec![4, 1, 2, 0, 3]);
        let (v, i) = topk(&t(vec![3.0, 1.0, 2.0], vec![3]), 2).unwrap();
        assert_eq!(v.to_vec::<f64>(), vec![3.0, 2.0]);
        assert_eq!(i.to_vec::<i64>(), vec![0, 2]);
    }
}

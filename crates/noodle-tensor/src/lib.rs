//! Noodle's n-dimensional tensors.
//!
//! A [`Tensor`] is a strided view (shape, strides, offset) over a reference-counted [`Buffer`].
//! Views (`reshape`, `transpose`, slicing, `broadcast_to`) share the buffer and copy nothing;
//! writes through one view (`t[0] = 1.0`, `a += b`) are seen by every other view of the same
//! buffer, as in NumPy. Kernels produce new contiguous tensors; large ones run on rayon.
//!
//! This crate knows nothing of the VM: errors are [`TensorError`]s with a stable Noodle code,
//! which the VM turns into catchable Noodle errors.

use crate::codes::{N2101, N2102, N2103, N2104, N2105};
pub mod codes;
mod fmt;
pub mod kernels;
pub mod linalg;
pub mod matmul;
pub mod random;
pub mod reduce;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use fmt::format_tensor;

/// Element type of a tensor. The order is the promotion order (bool < i64 < f32 < f64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DType {
    Bool,
    I64,
    F32,
    F64,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I64 => "i64",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }
    pub fn from_name(s: &str) -> Option<DType> {
        Some(match s {
            "bool" => DType::Bool,
            "i64" => DType::I64,
            "f32" => DType::F32,
            "f64" => DType::F64,
            _ => return None,
        })
    }
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
    /// The type both operands of an arithmetic operation are converted to. As in NumPy, i64
    /// with f32 gives f64 (f32 cannot hold every i64).
    pub fn promote(a: DType, b: DType) -> DType {
        match (a.max(b), a.min(b)) {
            (DType::F32, DType::I64) => DType::F64,
            (hi, _) => hi,
        }
    }
    /// The result of true division `/`: always a float.
    pub fn float_of(self) -> DType {
        if self == DType::F32 {
            DType::F32
        } else {
            DType::F64
        }
    }
    pub fn size_of(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }
}

/// Where a tensor's buffer lives. Kernels are found through [`backend`]; a CUDA device will add
/// a variant and a backend without changing the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
}

impl Device {
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
        }
    }
}

/// The elements of a buffer, in one of the four element types.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    Bool(Vec<bool>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Data {
    pub fn dtype(&self) -> DType {
        match self {
            Data::Bool(_) => DType::Bool,
            Data::I64(_) => DType::I64,
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Data::Bool(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn zeros(dtype: DType, n: usize) -> Data {
        with_dtype!(dtype, T => {
            let mut v: Vec<T> = kernels::with_capacity(n);
            v.resize(n, T::from_i64(0));
            T::wrap(v)
        })
    }
}

/// A reference-counted buffer shared by every view of it. The lock makes writes through one view
/// safe while others read (and lets a buffer move between actors' threads later).
#[derive(Debug)]
pub struct Buffer {
    data: RwLock<Data>,
    device: Device,
}

impl Buffer {
    fn new(data: Data) -> Arc<Buffer> {
        Arc::new(Buffer { data: RwLock::new(data), device: Device::Cpu })
    }
    pub fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }
    pub fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A tensor error: a stable Noodle error code and a message naming the shapes involved.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorError {
    pub code: noodle_codes::Code,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, TensorError>;

impl TensorError {
    pub fn new(code: noodle_codes::Code, message: impl Into<String>) -> TensorError {
        TensorError { code, message: message.into() }
    }
    /// N2101: shapes that do not broadcast or do not match.
    pub fn shape(message: impl Into<String>) -> TensorError {
        TensorError::new(N2101, message)
    }
    /// N2102: an index or slice outside a dimension.
    pub fn index(message: impl Into<String>) -> TensorError {
        TensorError::new(N2102, message)
    }
    /// N2103: an axis that the tensor does not have.
    pub fn axis(axis: i64, ndim: usize) -> TensorError {
        TensorError::new(N2103, format!("axis {axis} is out of range for a tensor with {ndim} dimension{}", if ndim == 1 { "" } else { "s" }))
    }
    /// N2104: a bad argument (negative size, zero step, unsupported dtype for an operation).
    pub fn arg(message: impl Into<String>) -> TensorError {
        TensorError::new(N2104, message)
    }
    /// N2105: a linear-algebra failure (singular matrix, not positive definite).
    pub fn linalg(message: impl Into<String>) -> TensorError {
        TensorError::new(N2105, message)
    }
}

/// Formats a shape as NumPy does: `(3, 4)`, `(5,)`, `()`.
pub fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// Elements above this count are refused (a tensor of 2^40 elements is a bug, not a request).
const MAX_ELEMENTS: usize = 1 << 36;

/// The number of elements of a shape, or an error when it overflows or is absurdly large.
pub fn numel_of(shape: &[usize]) -> Result<usize> {
    let mut n: usize = 1;
    for &d in shape {
        n = n.checked_mul(d).filter(|&n| n <= MAX_ELEMENTS).ok_or_else(|| TensorError::arg(format!("shape {} has too many elements", shape_str(shape))))?;
    }
    Ok(n)
}

/// Refuses (N2104) a new buffer the system cannot provide, instead of letting the allocation
/// abort the process: the memory is reserved and released at once (with overcommit this costs
/// only address space). Buffers under 16 MiB are not checked (a process that cannot get
/// that much is out of memory anyway; one under an address-space limit can lack 86 MB).
pub fn check_alloc(shape: &[usize], dtype: DType) -> Result<()> {
    let n = numel_of(shape)?;
    let bytes = n.saturating_mul(dtype.size_of());
    if bytes < 16 << 20 {
        return Ok(());
    }
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(bytes).map_err(|_| TensorError::arg(format!("cannot allocate {:.1} GiB for a tensor of shape {}", bytes as f64 / (1u64 << 30) as f64, shape_str(shape))))
}

fn contiguous_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut s = 1isize;
    for i in (0..shape.len()).rev() {
        strides[i] = s;
        s *= shape[i].max(1) as isize;
    }
    strides
}

/// Resolves a possibly negative axis against `ndim`.
pub fn norm_axis(axis: i64, ndim: usize) -> Result<usize> {
    let a = if axis < 0 { axis + ndim as i64 } else { axis };
    if a < 0 || a >= ndim as i64 {
        return Err(TensorError::axis(axis, ndim));
    }
    Ok(a as usize)
}

/// One entry of a subscript: `t[2]`, `t[1:]`, `t[::2]`, `t[::-1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum IndexItem {
    At(i64),
    Range { start: Option<i64>, stop: Option<i64>, step: Option<i64> },
}

/// An element type a kernel can work on directly.
pub trait Elem: Copy + Send + Sync + PartialOrd + std::fmt::Debug + 'static {
    const DTYPE: DType;
    fn slice(d: &Data) -> &[Self];
    fn slice_mut(d: &mut Data) -> &mut [Self];
    fn wrap(v: Vec<Self>) -> Data;
    fn to_f64(self) -> f64;
    fn to_i64(self) -> i64;
    fn from_f64(x: f64) -> Self;
    fn from_i64(x: i64) -> Self;
    fn from_bool(x: bool) -> Self;
}

macro_rules! elem {
    ($t:ty, $dt:ident, $to:expr, $toi:expr, $from_f:expr, $from_i:expr, $from_b:expr) => {
        impl Elem for $t {
            const DTYPE: DType = DType::$dt;
            fn slice(d: &Data) -> &[Self] {
                match d {
                    Data::$dt(v) => v,
                    _ => &[],
                }
            }
            fn slice_mut(d: &mut Data) -> &mut [Self] {
                match d {
                    Data::$dt(v) => v,
                    _ => &mut [],
                }
            }
            fn wrap(v: Vec<Self>) -> Data {
                Data::$dt(v)
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                ($to)(self)
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                ($toi)(self)
            }
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                ($from_f)(x)
            }
            #[inline(always)]
            fn from_i64(x: i64) -> Self {
                ($from_i)(x)
            }
            #[inline(always)]
            fn from_bool(x: bool) -> Self {
                ($from_b)(x)
            }
        }
    };
}

elem!(bool, Bool, |x: bool| x as u8 as f64, |x: bool| x as i64, |x: f64| x != 0.0, |x: i64| x != 0, |x: bool| x);
elem!(i64, I64, |x: i64| x as f64, |x: i64| x, |x: f64| x as i64, |x: i64| x, |x: bool| x as i64);
elem!(f32, F32, |x: f32| x as f64, |x: f32| x as i64, |x: f64| x as f32, |x: i64| x as f32, |x: bool| x as u8 as f32);
elem!(f64, F64, |x: f64| x, |x: f64| x as i64, |x: f64| x, |x: i64| x as f64, |x: bool| x as u8 as f64);

/// Calls `$body` with `$T` bound to the Rust element type of `$dtype`.
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

/// A scalar, as it crosses between the VM and a tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Scalar {
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
        }
    }
    pub fn to_elem<T: Elem>(self) -> T {
        match self {
            Scalar::Bool(b) => T::from_bool(b),
            Scalar::Int(i) => T::from_i64(i),
            Scalar::Float(f) => T::from_f64(f),
        }
    }
    pub fn of<T: Elem>(x: T) -> Scalar {
        match T::DTYPE {
            DType::Bool => Scalar::Bool(x.to_f64() != 0.0),
            DType::I64 => Scalar::Int(x.to_i64()),
            _ => Scalar::Float(x.to_f64()),
        }
    }
    /// The dtype a scalar takes when it meets a tensor of dtype `t` (scalars do not widen a
    /// tensor's type within its kind, as in NumPy: `f32 tensor * 2.0` stays f32).
    pub fn meet(self, t: DType) -> DType {
        match self {
            Scalar::Bool(_) => t,
            Scalar::Int(_) => t.max(DType::I64),
            Scalar::Float(_) => {
                if t.is_float() {
                    t
                } else {
                    DType::F64
                }
            }
        }
    }
}

/// An n-dimensional strided view of a shared buffer.
#[derive(Clone, Debug)]
pub struct Tensor {
    buf: Arc<Buffer>,
    shape: Vec<usize>,
    strides: Vec<isize>,
    offset: usize,
    dtype: DType,
}

impl Tensor {
    // ------------------------------------------------------------------ construction

    /// A contiguous tensor owning `data`, whose length must equal the shape's element count.
    pub fn from_data(data: Data, shape: Vec<usize>) -> Result<Tensor> {
        let n = numel_of(&shape)?;
        if n != data.len() {
            return Err(TensorError::shape(format!("{} elements cannot fill shape {}", data.len(), shape_str(&shape))));
        }
        let dtype = data.dtype();
        Ok(Tensor { strides: contiguous_strides(&shape), shape, offset: 0, dtype, buf: Buffer::new(data) })
    }

    pub fn from_vec<T: Elem>(v: Vec<T>, shape: Vec<usize>) -> Result<Tensor> {
        Tensor::from_data(T::wrap(v), shape)
    }

    pub fn scalar(s: Scalar, dtype: DType) -> Tensor {
        Tensor::full(&[], s, dtype).expect("a 0-d tensor always fits")
    }

    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        check_alloc(shape, dtype)?;
        let n = numel_of(shape)?;
        Tensor::from_data(Data::zeros(dtype, n), shape.to_vec())
    }

    pub fn full(shape: &[usize], value: Scalar, dtype: DType) -> Result<Tensor> {
        check_alloc(shape, dtype)?;
        let n = numel_of(shape)?;
        let data = with_dtype!(dtype, T => {
            let mut v: Vec<T> = kernels::with_capacity(n);
            v.resize(n, value.to_elem::<T>());
            T::wrap(v)
        });
        Tensor::from_data(data, shape.to_vec())
    }

    pub fn eye(n: usize, m: usize, dtype: DType) -> Result<Tensor> {
        let t = Tensor::zeros(&[n, m], dtype)?;
        {
            let mut d = t.buf.write();
            with_dtype!(dtype, T => {
                let s = T::slice_mut(&mut d);
                for i in 0..n.min(m) {
                    s[i * m + i] = T::from_i64(1);
                }
            });
        }
        Ok(t)
    }

    /// `start, start + step, ...` below `stop` (above it for a negative step).
    pub fn arange(start: f64, stop: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
            return Err(TensorError::arg("arange: step must be a non-zero finite number and the bounds finite"));
        }
        let n = ((stop - start) / step).ceil().max(0.0);
        if n > MAX_ELEMENTS as f64 {
            return Err(TensorError::arg("arange: too many elements"));
        }
        let n = n as usize;
        check_alloc(&[n], dtype)?;
        let data = with_dtype!(dtype, T => T::wrap((0..n).map(|i| T::from_f64(start + i as f64 * step)).collect()));
        Tensor::from_data(data, vec![n])
    }

    /// `n` evenly spaced values from `start` to `stop` inclusive.
    pub fn linspace(start: f64, stop: f64, n: usize, dtype: DType) -> Result<Tensor> {
        check_alloc(&[n], dtype)?;
        let step = if n > 1 { (stop - start) / (n - 1) as f64 } else { 0.0 };
        let data = with_dtype!(dtype, T => T::wrap((0..n).map(|i| T::from_f64(if i + 1 == n && n > 1 { stop } else { start + i as f64 * step })).collect()));
        Tensor::from_data(data, vec![n])
    }

    // ------------------------------------------------------------------ inspection

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }
    pub fn offset(&self) -> usize {
        self.offset
    }
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn device(&self) -> Device {
        self.buf.device
    }
    pub fn buffer(&self) -> &Arc<Buffer> {
        &self.buf
    }
    /// Do the two tensors view the same buffer?
    pub fn shares_buffer(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.buf, &other.buf)
    }
    /// Bytes of the underlying buffer (for the collector's pacing).
    pub fn buffer_bytes(&self) -> usize {
        self.buf.read().len() * self.dtype.size_of()
    }

    /// Row-major with unit strides from the start of a region of the buffer.
    pub fn is_contiguous(&self) -> bool {
        let mut expect = 1isize;
        for i in (0..self.shape.len()).rev() {
            if self.shape[i] != 1 && self.strides[i] != expect {
                return false;
            }
            expect *= self.shape[i] as isize;
        }
        true
    }

    /// Visits the buffer index of every element in row-major order.
    pub fn for_each_index(&self, mut f: impl FnMut(usize)) {
        kernels::walk(&self.shape, [&self.strides], [self.offset], |[i]| f(i));
    }

    /// The elements in row-major order, converted to `T`.
    pub fn to_vec<T: Elem>(&self) -> Vec<T> {
        let d = self.buf.read();
        let n = self.numel();
        with_dtype!(self.dtype, S => {
            let s = S::slice(&d);
            if self.is_contiguous() {
                // same type: the conversion is the identity and this is a copy
                let mut out = kernels::with_capacity(n);
                out.extend(s[self.offset..self.offset + n].iter().map(|&x| kernels::convert::<S, T>(x)));
                return out;
            }
            let mut out = kernels::with_capacity(n);
            kernels::walk(&self.shape, [&self.strides], [self.offset], |[i]| out.push(kernels::convert::<S, T>(s[i])));
            out
        })
    }

    /// The single element of a tensor with exactly one element.
    pub fn item(&self) -> Result<Scalar> {
        if self.numel() != 1 {
            return Err(TensorError::shape(format!("item() needs a tensor with one element, not shape {}", shape_str(&self.shape))));
        }
        let d = self.buf.read();
        Ok(with_dtype!(self.dtype, T => Scalar::of(T::slice(&d)[self.offset])))
    }

    /// A contiguous tensor with the same contents: `self` (shared) when already contiguous.
    pub fn contiguous(&self) -> Tensor {
        if self.is_contiguous() {
            return self.clone();
        }
        self.copy()
    }

    /// A new contiguous tensor with its own buffer.
    pub fn copy(&self) -> Tensor {
        let data = with_dtype!(self.dtype, T => T::wrap(self.to_vec::<T>()));
        Tensor::from_data(data, self.shape.clone()).expect("same element count")
    }

    pub fn astype(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype {
            return self.clone();
        }
        let data = with_dtype!(dtype, T => T::wrap(self.to_vec::<T>()));
        Tensor::from_data(data, self.shape.clone()).expect("same element count")
    }

    fn view(&self, shape: Vec<usize>, strides: Vec<isize>, offset: usize) -> Tensor {
        Tensor { buf: self.buf.clone(), shape, strides, offset, dtype: self.dtype }
    }

    // ------------------------------------------------------------------ views

    /// The same elements in a new shape. One dimension may be -1 (inferred). A view when the
    /// tensor is contiguous, a copy otherwise.
    pub fn reshape(&self, shape: &[i64]) -> Result<Tensor> {
        let n = self.numel();
        let mut infer = None;
        let mut known: usize = 1;
        let mut out = Vec::with_capacity(shape.len());
        for (i, &d) in shape.iter().enumerate() {
            if d == -1 {
                if infer.is_some() {
                    return Err(TensorError::shape("reshape: only one dimension can be -1"));
                }
                infer = Some(i);
                out.push(0);
            } else if d < 0 {
                return Err(TensorError::shape(format!("reshape: invalid dimension {d}")));
            } else {
                known = known.checked_mul(d as usize).ok_or_else(|| TensorError::shape("reshape: shape too large"))?;
                out.push(d as usize);
            }
        }
        let shown = || format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "));
        if let Some(i) = infer {
            if known == 0 || n % known != 0 {
                return Err(TensorError::shape(format!("cannot reshape tensor of shape {} ({n} elements) into {}", shape_str(&self.shape), shown())));
            }
            out[i] = n / known;
        } else if known != n {
            return Err(TensorError::shape(format!("cannot reshape tensor of shape {} ({n} elements) into {}", shape_str(&self.shape), shown())));
        }
        let base = self.contiguous();
        let strides = contiguous_strides(&out);
        Ok(base.view(out, strides, base.offset))
    }

    /// Reverses the axes (the matrix transpose for 2-D).
    pub fn transpose(&self) -> Tensor {
        let axes: Vec<usize> = (0..self.ndim()).rev().collect();
        self.permute_unchecked(&axes)
    }

    /// Reorders the axes: `permute([2, 0, 1])`.
    pub fn permute(&self, axes: &[i64]) -> Result<Tensor> {
        if axes.len() != self.ndim() {
            return Err(TensorError::arg(format!("permute: {} axes given for a tensor with {} dimensions", axes.len(), self.ndim())));
        }
        let mut seen = vec![false; self.ndim()];
        let mut out = Vec::with_capacity(axes.len());
        for &a in axes {
            let a = norm_axis(a, self.ndim())?;
            if seen[a] {
                return Err(TensorError::arg(format!("permute: axis {a} appears twice")));
            }
            seen[a] = true;
            out.push(a);
        }
        Ok(self.permute_unchecked(&out))
    }

    fn permute_unchecked(&self, axes: &[usize]) -> Tensor {
        let shape = axes.iter().map(|&a| self.shape[a]).collect();
        let strides = axes.iter().map(|&a| self.strides[a]).collect();
        self.view(shape, strides, self.offset)
    }

    /// Swaps two axes.
    pub fn swapaxes(&self, a: i64, b: i64) -> Result<Tensor> {
        let (a, b) = (norm_axis(a, self.ndim())?, norm_axis(b, self.ndim())?);
        let mut axes: Vec<usize> = (0..self.ndim()).collect();
        axes.swap(a, b);
        Ok(self.permute_unchecked(&axes))
    }

    /// Removes one axis of length 1, or every one when `axis` is none.
    pub fn squeeze(&self, axis: Option<i64>) -> Result<Tensor> {
        let keep: Vec<usize> = match axis {
            Some(a) => {
                let a = norm_axis(a, self.ndim())?;
                if self.shape[a] != 1 {
                    return Err(TensorError::shape(format!("squeeze: axis {a} of shape {} has length {}, not 1", shape_str(&self.shape), self.shape[a])));
                }
                (0..self.ndim()).filter(|&i| i != a).collect()
            }
            None => (0..self.ndim()).filter(|&i| self.shape[i] != 1).collect(),
        };
        Ok(self.view(keep.iter().map(|&i| self.shape[i]).collect(), keep.iter().map(|&i| self.strides[i]).collect(), self.offset))
    }

    /// Inserts an axis of length 1 before position `axis` (which may be `ndim`).
    pub fn unsqueeze(&self, axis: i64) -> Result<Tensor> {
        let a = norm_axis(axis, self.ndim() + 1)?;
        let mut shape = self.shape.clone();
        let mut strides = self.strides.clone();
        shape.insert(a, 1);
        strides.insert(a, 0);
        Ok(self.view(shape, strides, self.offset))
    }

    /// A read view in a larger shape following the broadcasting rules (stride 0 on repeated
    /// axes).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        let err = || TensorError::shape(format!("cannot broadcast shape {} to {}", shape_str(&self.shape), shape_str(shape)));
        if shape.len() < self.ndim() {
            return Err(err());
        }
        let lead = shape.len() - self.ndim();
        let mut strides = vec![0isize; shape.len()];
        for i in 0..self.ndim() {
            let (have, want) = (self.shape[i], shape[lead + i]);
            if have == want {
                strides[lead + i] = self.strides[i];
            } else if have != 1 {
                return Err(err());
            }
        }
        numel_of(shape)?;
        Ok(self.view(shape.to_vec(), strides, self.offset))
    }

    /// Subscripts: integers pick (and drop) an axis, ranges keep it. Missing trailing axes are
    /// taken whole. Always a view.
    pub fn index(&self, items: &[IndexItem]) -> Result<Tensor> {
        if items.len() > self.ndim() {
            return Err(TensorError::index(format!("too many indices: {} for a tensor of shape {}", items.len(), shape_str(&self.shape))));
        }
        let mut shape = Vec::new();
        let mut strides = Vec::new();
        let mut offset = self.offset as isize;
        for (axis, item) in items.iter().enumerate() {
            let len = self.shape[axis] as i64;
            let stride = self.strides[axis];
            match *item {
                IndexItem::At(i) => {
                    let j = if i < 0 { i + len } else { i };
                    if j < 0 || j >= len {
                        return Err(TensorError::index(format!("index {i} is out of range for axis {axis} with size {len}")));
                    }
                    offset += j as isize * stride;
                }
                IndexItem::Range { start, stop, step } => {
                    let (first, count, step) = slice_range(len, start, stop, step)?;
                    if count > 0 {
                        offset += first as isize * stride;
                    }
                    shape.push(count);
                    strides.push(stride * step as isize);
                }
            }
        }
        shape.extend_from_slice(&self.shape[items.len()..]);
        strides.extend_from_slice(&self.strides[items.len()..]);
        // a view without elements reads nothing, but its offset must stay inside the buffer
        // (`zeros((2, 0))[1]` would otherwise start past the end of an empty buffer)
        if shape.contains(&0) {
            offset = self.offset as isize;
        }
        Ok(self.view(shape, strides, offset as usize))
    }

    // ------------------------------------------------------------------ writes

    /// Writes `src` (broadcast to this view's shape) into the elements of this view, converting
    /// to this tensor's dtype. The other views of the buffer see the change.
    pub fn assign(&self, src: &Tensor) -> Result<()> {
        let src = src.broadcast_to(&self.shape).map_err(|_| {
            TensorError::shape(format!("cannot assign a tensor of shape {} to a view of shape {}", shape_str(&src.shape), shape_str(&self.shape)))
        })?;
        // a source that overlaps the destination is copied first, so no element is read after
        // it was overwritten
        let src = if src.shares_buffer(self) { src.copy().broadcast_to(&self.shape)? } else { src };
        let sd = src.buf.read();
        let mut dd = self.buf.write();
        with_dtype!(self.dtype, D => with_dtype!(src.dtype, S => {
            let s = S::slice(&sd);
            let d = D::slice_mut(&mut dd);
            kernels::walk(&self.shape, [&self.strides, &src.strides], [self.offset, src.offset], |[i, j]| d[i] = kernels::convert::<S, D>(s[j]));
        }));
        Ok(())
    }

    /// Writes one scalar into every element of this view.
    pub fn fill(&self, value: Scalar) {
        let mut dd = self.buf.write();
        with_dtype!(self.dtype, D => {
            let d = D::slice_mut(&mut dd);
            let v = value.to_elem::<D>();
            kernels::walk(&self.shape, [&self.strides], [self.offset], |[i]| d[i] = v);
        });
    }
}

/// Resolves a Python-style slice against a length: (first index, count, step).
pub fn slice_range(len: i64, start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Result<(i64, usize, i64)> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(TensorError::index("slice step cannot be zero"));
    }
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let fix = |v: i64| if v < 0 { v + len } else { v };
    let (first, last) = if step > 0 {
        (start.map_or(0, |s| clamp(fix(s), 0, len)), stop.map_or(len, |s| clamp(fix(s), 0, len)))
    } else {
        (start.map_or(len - 1, |s| clamp(fix(s), -1, len - 1)), stop.map_or(-1, |s| clamp(fix(s), -1, len - 1)))
    };
    let count = if step > 0 {
        if last > first { (last - first + step - 1) / step } else { 0 }
    } else if first > last {
        (first - last + (-step) - 1) / (-step)
    } else {
        0
    };
    Ok((first, count as usize, step))
}

/// The shape two shapes broadcast to, or the N2101 error naming both.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(TensorError::shape(format!("cannot broadcast shapes {} and {}", shape_str(a), shape_str(b))));
        };
    }
    Ok(out)
}

/// The kernels for a device. Only the CPU exists today; a GPU backend implements the same trait.
pub trait Backend: Sync {
    fn name(&self) -> &'static str;
    fn binary(&self, op: kernels::BinOp, a: &Tensor, b: &Tensor) -> Result<Tensor>;
    fn unary(&self, op: kernels::UnOp, a: &Tensor) -> Result<Tensor>;
    fn matmul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor>;
    fn reduce(&self, op: reduce::ReduceOp, a: &Tensor, axes: Option<&[i64]>, keepdims: bool) -> Result<Tensor>;
}

/// The CPU kernels: plain loops the compiler vectorises, rayon for large tensors, faer for
/// matrix products and factorisations.
pub struct Cpu;

impl Backend for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }
    fn binary(&self, op: kernels::BinOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        kernels::binary(op, a, b)
    }
    fn unary(&self, op: kernels::UnOp, a: &Tensor) -> Result<Tensor> {
        kernels::unary(op, a)
    }
    fn matmul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        matmul::matmul(a, b)
    }
    fn reduce(&self, op: reduce::ReduceOp, a: &Tensor, axes: Option<&[i64]>, keepdims: bool) -> Result<Tensor> {
        reduce::reduce(op, a, axes, keepdims)
    }
}

/// The backend that runs kernels for tensors on `device`.
pub fn backend(device: Device) -> &'static dyn Backend {
    match device {
        Device::Cpu => &Cpu,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_python() {
        assert_eq!(slice_range(5, None, None, None).unwrap(), (0, 5, 1));
        assert_eq!(slice_range(5, Some(1), None, Some(2)).unwrap(), (1, 2, 2));
        assert_eq!(slice_range(5, None, None, Some(-1)).unwrap(), (4, 5, -1));
        assert_eq!(slice_range(5, Some(-2), None, None).unwrap(), (3, 2, 1));
        assert_eq!(slice_range(5, Some(10), None, None).unwrap().1, 0);
        assert!(slice_range(5, None, None, Some(0)).is_err());
    }

    #[test]
    fn broadcast_errors_name_both_shapes() {
        let e = broadcast_shapes(&[3, 4], &[5]).unwrap_err();
        assert_eq!(e.message, "cannot broadcast shapes (3, 4) and (5,)");
        assert_eq!(broadcast_shapes(&[3, 1], &[4]).unwrap(), vec![3, 4]);
    }

    #[test]
    fn views_share_the_buffer() {
        let t = Tensor::arange(0.0, 6.0, 1.0, DType::F64).unwrap().reshape(&[2, 3]).unwrap();
        let col = t.index(&[IndexItem::Range { start: None, stop: None, step: None }, IndexItem::At(1)]).unwrap();
        assert_eq!(col.to_vec::<f64>(), vec![1.0, 4.0]);
        col.fill(Scalar::Float(9.0));
        assert_eq!(t.to_vec::<f64>(), vec![0.0, 9.0, 2.0, 3.0, 9.0, 5.0]);
        assert_eq!(t.transpose().to_vec::<f64>(), vec![0.0, 3.0, 9.0, 9.0, 2.0, 5.0]);
    }
}

//! Tensor natives: the bridge between VM values and `noodle-tensor`. A tensor value is a heap
//! object holding a `Tensor` (a view); its buffer is reference-counted outside the heap, so a
//! collected view only drops its reference. The compiler has checked element types; shapes,
//! axes and indices are checked here and become Noodle errors (N2101-N2105).

use noodle_tensor::codes::{N2101, N2104};
use noodle_native::{as_float, as_int, bad, simple, Ctx, Heap, List, Module, NativeBox, NativeFn, NativeObject, Obj, Sendable, Value, VmError};

mod rules;
use noodle_nbc::Program;
use noodle_tensor::kernels::{self, BinOp, UnOp};
use noodle_tensor::reduce::{self, ReduceOp};
use noodle_tensor::{linalg, random, DType, Data, IndexItem, Scalar, Tensor, TensorError};

type R = Result<Value, VmError>;

/// The `std.tensor` module: its declarations, the functions behind them, and the rules that
/// type the calls whose element type depends on their arguments (`rules.rs`).
pub fn module() -> Module {
    let mut m = Module::new("std.tensor", include_str!("tensor.noodle"))
        .function("from_list", simple!(from_list))
        .function("zeros", simple!(zeros))
        .function("ones", simple!(ones))
        .function("full", simple!(full))
        .function("eye", simple!(eye))
        .function("arange", simple!(arange))
        .function("linspace", simple!(linspace))
        .function("rand", simple!(rand))
        .function("randn", simple!(randn))
        .function("randint", simple!(randint))
        .function("where", simple!(where_))
        .function("concat", simple!(concat))
        .function("stack", simple!(stack))
        .function("split", simple!(split))
        .function("matmul", simple!(fn_matmul))
        .function("maximum", simple!(fn_maximum))
        .function("minimum", simple!(fn_minimum))
        .function("allclose", simple!(allclose))
        .function("array_equal", simple!(array_equal))
        .function("softmax", simple!(softmax))
        .function("clip", simple!(clip))
        .function("logical_not", simple!(un_logical_not))
        .function("__binary", simple!(binary))
        .function("__inplace", simple!(inplace))
        .function("__unary", simple!(unary))
        .function("__get", simple!(get))
        .function("__set", simple!(set))
        .function("tensor.shape", simple!(shape))
        .function("tensor.ndim", simple!(ndim))
        .function("tensor.size", simple!(size))
        .function("tensor.dtype", simple!(dtype))
        .function("tensor.device", simple!(device))
        .function("tensor.T", simple!(transpose))
        .function("tensor.len", simple!(tensor_len))
        .function("tensor.reshape", simple!(reshape))
        .function("tensor.transpose", simple!(transpose))
        .function("tensor.permute", simple!(permute))
        .function("tensor.squeeze", simple!(squeeze))
        .function("tensor.unsqueeze", simple!(unsqueeze))
        .function("tensor.broadcast_to", simple!(broadcast_to))
        .function("tensor.contiguous", simple!(contiguous))
        .function("tensor.is_contiguous", simple!(is_contiguous))
        .function("tensor.copy", simple!(copy))
        .function("tensor.astype", simple!(astype))
        .function("tensor.item", simple!(item))
        .function("tensor.to_list", simple!(to_list))
        .function("tensor.to_lists", simple!(to_lists))
        .function("tensor.logical_not", simple!(un_logical_not))
        .function("tensor.clip", simple!(clip))
        .function("tensor.softmax", simple!(softmax))
        .function("tensor.sort", simple!(sort))
        .function("tensor.argsort", simple!(argsort))
        .function("tensor.topk", simple!(topk))
        .function("tensor.fill", simple!(fill))
        .function("tensor.matmul", simple!(fn_matmul))
        .function("tensor.pow", simple!(method_pow));
    // the elementwise functions are functions (`tensor.exp(t)`) and methods (`t.exp()`)
    for (name, f) in UNARY_FNS {
        m = m.function(name, *f).function(&format!("tensor.{name}"), *f);
    }
    for (name, f) in REDUCE_FNS {
        m = m.function(&format!("tensor.{name}"), *f);
        if *name == "sum" || *name == "mean" {
            m = m.function(name, *f);
        }
    }
    rules::add(m)
}

/// Calls `f` with the arguments and an operator code after them (the layout the shared
/// natives read).
fn with_code(ctx: &mut Ctx, args: &[Value], code: i64, f: fn(&mut Ctx, &[Value]) -> R) -> R {
    let mut v = args.to_vec();
    v.push(Value::Int(code));
    f(ctx, &v)
}

fn fn_matmul(ctx: &mut Ctx, args: &[Value]) -> R {
    with_code(ctx, args, 16, binary)
}
fn fn_maximum(ctx: &mut Ctx, args: &[Value]) -> R {
    with_code(ctx, args, 17, binary)
}
fn fn_minimum(ctx: &mut Ctx, args: &[Value]) -> R {
    with_code(ctx, args, 18, binary)
}
fn method_pow(ctx: &mut Ctx, args: &[Value]) -> R {
    with_code(ctx, args, 6, binary)
}

/// `len(t)`, as a function.
fn tensor_len(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "tensor.len")?;
    t.shape().first().map(|n| Value::Int(*n as i64)).ok_or_else(|| VmError::new(N2101, "len() of a 0-d tensor"))
}

macro_rules! unary_fns {
    ($($name:ident $code:expr),* $(,)?) => {
        $(
            fn $name(ctx: &mut Ctx, args: &[Value]) -> R {
                with_code(ctx, args, $code, unary)
            }
        )*
    };
}
unary_fns!(un_exp 0, un_log 1, un_sqrt 2, un_abs 3, un_sin 4, un_cos 5, un_tanh 6, un_sigmoid 7, un_relu 8, un_floor 9, un_ceil 10, un_round 11, un_logical_not 12);

/// The elementwise functions by name (their codes are their places in `UNOPS`).
const UNARY_FNS: &[(&str, NativeFn)] = &[
    ("exp", simple!(un_exp)),
    ("log", simple!(un_log)),
    ("sqrt", simple!(un_sqrt)),
    ("abs", simple!(un_abs)),
    ("sin", simple!(un_sin)),
    ("cos", simple!(un_cos)),
    ("tanh", simple!(un_tanh)),
    ("sigmoid", simple!(un_sigmoid)),
    ("relu", simple!(un_relu)),
    ("floor", simple!(un_floor)),
    ("ceil", simple!(un_ceil)),
    ("round", simple!(un_round)),
];

/// A reduction `(t, axis, keepdims)`: a scalar when neither `axis` nor `keepdims` was given
/// (both arrive as none), else a tensor.
fn reduction(ctx: &mut Ctx, args: &[Value], code: i64) -> R {
    if args.len() != 3 {
        return Err(bad("tensor reduction"));
    }
    let scalar = matches!((args[1], args[2]), (Value::None, Value::None));
    let keepdims = if matches!(args[2], Value::None) { Value::Bool(false) } else { args[2] };
    reduce_(ctx, &[args[0], args[1], keepdims, Value::Int(code), Value::Bool(scalar)])
}

macro_rules! reduce_fns {
    ($($name:ident $code:expr),* $(,)?) => {
        $(
            fn $name(ctx: &mut Ctx, args: &[Value]) -> R {
                reduction(ctx, args, $code)
            }
        )*
    };
}
reduce_fns!(red_sum 0, red_mean 1, red_min 2, red_max 3, red_prod 4, red_std 5, red_var 6, red_argmin 7, red_argmax 8, red_any 9, red_all 10);

/// The reductions by name (their codes are their places in `REDUCE_OPS`).
const REDUCE_FNS: &[(&str, NativeFn)] = &[
    ("sum", simple!(red_sum)),
    ("mean", simple!(red_mean)),
    ("min", simple!(red_min)),
    ("max", simple!(red_max)),
    ("prod", simple!(red_prod)),
    ("std", simple!(red_std)),
    ("var", simple!(red_var)),
    ("argmin", simple!(red_argmin)),
    ("argmax", simple!(red_argmax)),
    ("any", simple!(red_any)),
    ("all", simple!(red_all)),
];

/// The `std.linalg` functions (their module is declared in `linalg/`).
pub(crate) fn linalg_module(m: Module) -> Module {
    let m = m
        .function("solve", simple!(solve))
        .function("inv", simple!(inv))
        .function("det", simple!(det))
        .function("qr", simple!(qr))
        .function("cholesky", simple!(cholesky))
        .function("svd", simple!(svd))
        .function("eigh", simple!(eigh))
        .function("norm", simple!(norm))
        .function("lstsq", simple!(lstsq));
    rules::add_linalg(m)
}

/// A tensor value: a view (shape, strides, offset) over a reference-counted buffer, so
/// collecting it drops one reference and sending it to another actor shares the buffer.
pub struct TensorObj(pub Tensor);

impl NativeObject for TensorObj {
    fn type_name(&self, _: &Program) -> String {
        format!("tensor[{}]", self.0.dtype().name())
    }
    fn kind(&self) -> &'static str {
        "tensor"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&noodle_tensor::format_tensor(&self.0))
    }
    fn owned_bytes(&self) -> usize {
        // a share of the buffer, so many views of one buffer do not each count all of it
        96 + self.0.buffer_bytes() / std::sync::Arc::strong_count(self.0.buffer()).max(1)
    }
    fn len(&self) -> Option<Result<usize, VmError>> {
        Some(self.0.shape().first().copied().ok_or_else(|| VmError::new(N2101, "len() of a 0-d tensor")))
    }
    /// A tensor iterates over its first axis, as views.
    fn iterate(&self, heap: &mut Heap) -> Option<Result<Vec<Value>, VmError>> {
        Some(rows(&self.0).map_err(err).map(|rows| rows.into_iter().map(|r| heap.alloc(Obj::Native(NativeBox::new(TensorObj(r))))).collect()))
    }
    fn send(&self, _: &Program) -> Result<Box<dyn Sendable>, VmError> {
        Ok(Box::new(SentTensor(self.0.clone())))
    }
}

/// A tensor view crossing to another actor: the buffer is shared, not copied.
#[derive(Debug)]
struct SentTensor(Tensor);

impl Sendable for SentTensor {
    fn receive(&self) -> NativeBox {
        NativeBox::new(TensorObj(self.0.clone()))
    }
}

/// The tensor a value holds, if it is one (for other modules: `std.db` makes tensors too).
pub fn tensor_of(heap: &Heap, v: Value) -> Option<&Tensor> {
    heap.native::<TensorObj>(v).map(|t| &t.0)
}

/// A new tensor value.
pub fn tensor_value(heap: &mut Heap, t: Tensor) -> Value {
    heap.alloc(Obj::Native(NativeBox::new(TensorObj(t))))
}

/// The views `t[0]`, `t[1]`, ... along the first axis (what `for row in t` visits).
pub fn rows(t: &Tensor) -> noodle_tensor::Result<Vec<Tensor>> {
    if t.ndim() == 0 {
        return Err(TensorError::shape("a 0-d tensor cannot be iterated (use item())"));
    }
    (0..t.shape()[0] as i64).map(|i| t.index(&[IndexItem::At(i)])).collect()
}

/// Refuses (N2104) an operation that would materialise more memory than the system can give,
/// e.g. a copy of a huge broadcast view, instead of letting the allocation abort the process.
fn fits(t: &Tensor) -> Result<(), VmError> {
    noodle_tensor::check_alloc(t.shape(), t.dtype().max(DType::I64)).map_err(err)
}

fn err(e: TensorError) -> VmError {
    VmError::new(e.code, e.message)
}


fn arg(args: &[Value], i: usize, name: &str) -> Result<Value, VmError> {
    args.get(i).copied().ok_or_else(|| bad(name))
}

fn tensor_at<'a>(ctx: &'a Ctx, args: &[Value], i: usize, name: &str) -> Result<&'a Tensor, VmError> {
    match arg(args, i, name)? {
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Native(n) => n.downcast_ref::<TensorObj>().map(|t| &t.0).ok_or_else(|| bad(name)),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

fn new_tensor(ctx: &mut Ctx, t: Tensor) -> Value {
    ctx.heap.alloc(Obj::Native(NativeBox::new(TensorObj(t))))
}

fn ok(ctx: &mut Ctx, t: noodle_tensor::Result<Tensor>) -> R {
    Ok(new_tensor(ctx, t.map_err(err)?))
}

fn int_at(args: &[Value], i: usize, name: &str) -> Result<i64, VmError> {
    as_int(arg(args, i, name)?, name)
}

fn opt_int(args: &[Value], i: usize, name: &str) -> Result<Option<i64>, VmError> {
    match arg(args, i, name)? {
        Value::Int(v) => Ok(Some(v)),
        Value::None => Ok(None),
        _ => Err(bad(name)),
    }
}

fn scalar(v: Value) -> Option<Scalar> {
    match v {
        Value::Bool(b) => Some(Scalar::Bool(b)),
        Value::Int(i) => Some(Scalar::Int(i)),
        Value::Float(f) => Some(Scalar::Float(f)),
        _ => None,
    }
}

fn opt_scalar(args: &[Value], i: usize, name: &str) -> Result<Option<Scalar>, VmError> {
    match arg(args, i, name)? {
        Value::None => Ok(None),
        v => scalar(v).map(Some).ok_or_else(|| bad(name)),
    }
}

fn float_at(args: &[Value], i: usize, name: &str) -> Result<f64, VmError> {
    as_float(arg(args, i, name)?, name)
}

fn bool_at(args: &[Value], i: usize, name: &str) -> Result<bool, VmError> {
    match arg(args, i, name)? {
        Value::Bool(b) => Ok(b),
        _ => Err(bad(name)),
    }
}

/// An optional dtype argument (`"f32"`, ...; none takes `default`).
fn dtype_at(ctx: &Ctx, args: &[Value], i: usize, default: DType, name: &str) -> Result<DType, VmError> {
    match arg(args, i, name)? {
        Value::None => Ok(default),
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Str(s) => DType::from_name(s).ok_or_else(|| bad(name)),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

/// A list of ints from an int or a `list[int]`.
fn ints_at(ctx: &Ctx, args: &[Value], i: usize, name: &str) -> Result<Vec<i64>, VmError> {
    match arg(args, i, name)? {
        Value::Int(v) => Ok(vec![v]),
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::List(items) => items.iter().map(|v| if let Value::Int(x) = v { Ok(x) } else { Err(bad(name)) }).collect(),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

/// A shape: non-negative ints.
fn shape_at(ctx: &Ctx, args: &[Value], i: usize, name: &str) -> Result<Vec<usize>, VmError> {
    let dims = ints_at(ctx, args, i, name)?;
    dims.iter()
        .map(|&d| if d < 0 { Err(VmError::new(N2104, format!("{name}: negative dimension {d} in shape {dims:?}"))) } else { Ok(d as usize) })
        .collect()
}

fn seed_at(args: &[Value], i: usize, name: &str) -> Result<u64, VmError> {
    Ok(int_at(args, i, name)? as u64)
}

fn list_value(ctx: &mut Ctx, items: Vec<Value>) -> Value {
    ctx.heap.alloc(Obj::List(items.into()))
}

fn scalar_value(s: Scalar) -> Value {
    match s {
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::Int(i),
        Scalar::Float(f) => Value::Float(f),
    }
}

/// A tensor operand, or a scalar turned into a 0-d tensor of the type it takes next to `other`.
fn operand(ctx: &Ctx, v: Value, other: Option<DType>, name: &str) -> Result<Tensor, VmError> {
    if let Some(s) = scalar(v) {
        let dt = match other {
            Some(o) => s.meet(o),
            None => match s {
                Scalar::Bool(_) => DType::Bool,
                Scalar::Int(_) => DType::I64,
                Scalar::Float(_) => DType::F64,
            },
        };
        return Ok(Tensor::scalar(s, dt));
    }
    match v {
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Native(n) => n.downcast_ref::<TensorObj>().map(|t| t.0.clone()).ok_or_else(|| bad(name)),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

fn dtype_of(ctx: &Ctx, v: Value) -> Option<DType> {
    match v {
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Native(n) => n.downcast_ref::<TensorObj>().map(|t| t.0.dtype()),
            _ => None,
        },
        _ => None,
    }
}

/// Two operands where at least one is a tensor; scalars take the other's type.
fn operands(ctx: &Ctx, args: &[Value], name: &str) -> Result<(Tensor, Tensor), VmError> {
    let (a, b) = (arg(args, 0, name)?, arg(args, 1, name)?);
    let (da, db) = (dtype_of(ctx, a), dtype_of(ctx, b));
    if da.is_none() && db.is_none() {
        return Err(bad(name));
    }
    Ok((operand(ctx, a, db, name)?, operand(ctx, b, da, name)?))
}

// ------------------------------------------------------------------------------- creation

/// Nested lists to a tensor: the shape comes from the nesting, which must be rectangular.
fn from_list(ctx: &mut Ctx, args: &[Value]) -> R {
    const NAME: &str = "tensor.from_list";
    let root = arg(args, 0, NAME)?;
    // an unboxed list is already the buffer: one copy, no look at each element
    if let Value::Obj(r) = root {
        let data = match ctx.heap.get(r) {
            Obj::List(List::Bools(v)) => Some(Data::Bool(v.clone())),
            Obj::List(List::Ints(v)) => Some(Data::I64(v.clone())),
            Obj::List(List::Floats(v)) => Some(Data::F64(v.clone())),
            _ => None,
        };
        if let Some(data) = data {
            let (inferred, n) = (data.dtype(), data.len());
            if dtype_at(ctx, args, 1, inferred, NAME)? == inferred {
                return ok(ctx, Tensor::from_data(data, vec![n]));
            }
        }
    }
    let mut shape = Vec::new();
    let mut probe = root;
    // the shape from the first element at each depth
    while let Value::Obj(r) = probe {
        let Obj::List(items) = ctx.heap.get(r) else { return Err(bad(NAME)) };
        shape.push(items.len());
        match items.first() {
            Some(v) => probe = v,
            None => break,
        }
    }
    let mut leaves: Vec<Value> = Vec::new();
    flatten(ctx, root, 0, &shape, &mut leaves)?;
    let inferred = if leaves.iter().any(|v| matches!(v, Value::Float(_))) {
        DType::F64
    } else if leaves.iter().any(|v| matches!(v, Value::Int(_))) {
        DType::I64
    } else if leaves.is_empty() {
        DType::F64
    } else {
        DType::Bool
    };
    let dt = dtype_at(ctx, args, 1, inferred, NAME).or_else(|_| if args.len() < 2 { Ok(inferred) } else { Err(bad(NAME)) })?;
    let sc: Vec<Scalar> = leaves.iter().map(|&v| scalar(v).ok_or_else(|| bad(NAME))).collect::<Result<_, _>>()?;
    let data = noodle_tensor::with_dtype!(dt, T => <T as noodle_tensor::Elem>::wrap(sc.iter().map(|s| s.to_elem::<T>()).collect()));
    ok(ctx, Tensor::from_data(data, shape))
}

fn flatten(ctx: &Ctx, v: Value, depth: usize, shape: &[usize], out: &mut Vec<Value>) -> Result<(), VmError> {
    if depth == shape.len() {
        if let Value::Obj(_) = v {
            return Err(VmError::new(N2101, format!("ragged nested list: expected a number at depth {depth}, found a list")));
        }
        out.push(v);
        return Ok(());
    }
    let Value::Obj(r) = v else {
        return Err(VmError::new(N2101, format!("ragged nested list: expected a list of length {} at depth {depth}, found a number", shape[depth])));
    };
    let Obj::List(items) = ctx.heap.get(r) else { return Err(bad("tensor.from_list")) };
    if items.len() != shape[depth] {
        return Err(VmError::new(N2101, format!("ragged nested list: expected length {} at depth {depth}, found {}", shape[depth], items.len())));
    }
    for item in items.iter() {
        flatten(ctx, item, depth + 1, shape, out)?;
    }
    Ok(())
}

fn zeros(ctx: &mut Ctx, args: &[Value]) -> R {
    let shape = shape_at(ctx, args, 0, "zeros")?;
    let dt = dtype_at(ctx, args, 1, DType::F64, "zeros")?;
    ok(ctx, Tensor::zeros(&shape, dt))
}

fn ones(ctx: &mut Ctx, args: &[Value]) -> R {
    let shape = shape_at(ctx, args, 0, "ones")?;
    let dt = dtype_at(ctx, args, 1, DType::F64, "ones")?;
    ok(ctx, Tensor::full(&shape, Scalar::Int(1), dt))
}

fn full(ctx: &mut Ctx, args: &[Value]) -> R {
    let shape = shape_at(ctx, args, 0, "full")?;
    let v = arg(args, 1, "full")?;
    if let Some(s) = scalar(v) {
        let inferred = match s {
            Scalar::Bool(_) => DType::Bool,
            Scalar::Int(_) => DType::I64,
            Scalar::Float(_) => DType::F64,
        };
        let dt = dtype_at(ctx, args, 2, inferred, "full")?;
        return ok(ctx, Tensor::full(&shape, s, dt));
    }
    // a 0-d (or broadcastable) tensor as the fill value
    let t = tensor_at(ctx, args, 1, "full")?.clone();
    let dt = dtype_at(ctx, args, 2, t.dtype(), "full")?;
    let out = Tensor::zeros(&shape, dt).map_err(err)?;
    out.assign(&t).map_err(err)?;
    Ok(new_tensor(ctx, out))
}

fn eye(ctx: &mut Ctx, args: &[Value]) -> R {
    let n = int_at(args, 0, "eye")?;
    let m = opt_int(args, 1, "eye")?.unwrap_or(n);
    if n < 0 || m < 0 {
        return Err(VmError::new(N2104, format!("eye: sizes must not be negative, found ({n}, {m})")));
    }
    let dt = dtype_at(ctx, args, 2, DType::F64, "eye")?;
    ok(ctx, Tensor::eye(n as usize, m as usize, dt))
}

fn arange(ctx: &mut Ctx, args: &[Value]) -> R {
    let a = arg(args, 0, "arange")?;
    let b = arg(args, 1, "arange")?;
    let c = arg(args, 2, "arange")?;
    let all_int = [a, b, c].iter().all(|v| matches!(v, Value::Int(_) | Value::None));
    let num = |v: Value| match v {
        Value::Int(i) => Ok(Some(i as f64)),
        Value::Float(f) => Ok(Some(f)),
        Value::Bool(b) => Ok(Some(b as u8 as f64)),
        Value::None => Ok(None),
        _ => Err(bad("arange")),
    };
    let (x, y, z) = (num(a)?.ok_or_else(|| bad("arange"))?, num(b)?, num(c)?.unwrap_or(1.0));
    // `arange(n)` counts from 0 to n
    let (start, stop) = match y {
        Some(y) => (x, y),
        None => (0.0, x),
    };
    let dt = dtype_at(ctx, args, 3, if all_int { DType::I64 } else { DType::F64 }, "arange")?;
    ok(ctx, Tensor::arange(start, stop, z, dt))
}

fn linspace(ctx: &mut Ctx, args: &[Value]) -> R {
    let (a, b) = (float_at(args, 0, "linspace")?, float_at(args, 1, "linspace")?);
    let n = int_at(args, 2, "linspace")?;
    if n < 0 {
        return Err(VmError::new(N2104, format!("linspace: the number of samples must not be negative, found {n}")));
    }
    let dt = dtype_at(ctx, args, 3, DType::F64, "linspace")?;
    ok(ctx, Tensor::linspace(a, b, n as usize, dt))
}

fn rand(ctx: &mut Ctx, args: &[Value]) -> R {
    let shape = shape_at(ctx, args, 0, "rand")?;
    let seed = seed_at(args, 1, "rand")?;
    let dt = dtype_at(ctx, args, 2, DType::F64, "rand")?;
    ok(ctx, random::rand(&shape, seed, dt))
}

fn randn(ctx: &mut Ctx, args: &[Value]) -> R {
    let shape = shape_at(ctx, args, 0, "randn")?;
    let seed = seed_at(args, 1, "randn")?;
    let dt = dtype_at(ctx, args, 2, DType::F64, "randn")?;
    ok(ctx, random::randn(&shape, seed, dt))
}

fn randint(ctx: &mut Ctx, args: &[Value]) -> R {
    let (lo, hi) = (int_at(args, 0, "randint")?, int_at(args, 1, "randint")?);
    let shape = shape_at(ctx, args, 2, "randint")?;
    let seed = seed_at(args, 3, "randint")?;
    ok(ctx, random::randint(lo, hi, &shape, seed))
}

// ------------------------------------------------------------------------------- combining

fn where_(ctx: &mut Ctx, args: &[Value]) -> R {
    let cond = tensor_at(ctx, args, 0, "where")?.clone();
    let (a, b) = operands(ctx, &args[1..], "where").or_else(|_| {
        // two scalars: they meet each other
        let (x, y) = (arg(args, 1, "where")?, arg(args, 2, "where")?);
        Ok::<_, VmError>((operand(ctx, x, None, "where")?, operand(ctx, y, None, "where")?))
    })?;
    ok(ctx, kernels::where_(&cond, &a, &b))
}

fn tensors_at(ctx: &Ctx, args: &[Value], i: usize, name: &str) -> Result<Vec<Tensor>, VmError> {
    let Value::Obj(r) = arg(args, i, name)? else { return Err(bad(name)) };
    let Obj::List(items) = ctx.heap.get(r) else { return Err(bad(name)) };
    items
        .iter()
        .map(|v| match v {
            Value::Obj(r) => match ctx.heap.get(r) {
                Obj::Native(n) => n.downcast_ref::<TensorObj>().map(|t| t.0.clone()).ok_or_else(|| bad(name)),
                _ => Err(bad(name)),
            },
            _ => Err(bad(name)),
        })
        .collect()
}

fn concat(ctx: &mut Ctx, args: &[Value]) -> R {
    let ts = tensors_at(ctx, args, 0, "concat")?;
    let axis = int_at(args, 1, "concat")?;
    ok(ctx, kernels::concat(&ts, axis))
}

fn stack(ctx: &mut Ctx, args: &[Value]) -> R {
    let ts = tensors_at(ctx, args, 0, "stack")?;
    let axis = int_at(args, 1, "stack")?;
    ok(ctx, kernels::stack(&ts, axis))
}

fn split(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "split")?.clone();
    let n = int_at(args, 1, "split")?;
    let axis = int_at(args, 2, "split")?;
    if n <= 0 {
        return Err(VmError::new(N2104, format!("split: the number of sections must be positive, found {n}")));
    }
    let parts = kernels::split(&t, n as usize, axis).map_err(err)?;
    let vals: Vec<Value> = parts.into_iter().map(|p| new_tensor(ctx, p)).collect();
    Ok(list_value(ctx, vals))
}

fn allclose(ctx: &mut Ctx, args: &[Value]) -> R {
    let a = tensor_at(ctx, args, 0, "allclose")?.clone();
    let b = tensor_at(ctx, args, 1, "allclose")?.clone();
    let (rtol, atol) = (float_at(args, 2, "allclose")?, float_at(args, 3, "allclose")?);
    let shape = noodle_tensor::broadcast_shapes(a.shape(), b.shape()).map_err(err)?;
    let x = a.broadcast_to(&shape).map_err(err)?.to_vec::<f64>();
    let y = b.broadcast_to(&shape).map_err(err)?.to_vec::<f64>();
    let close = x.iter().zip(&y).all(|(&p, &q)| (p == q) || (p - q).abs() <= atol + rtol * q.abs());
    Ok(Value::Bool(close))
}

fn array_equal(ctx: &mut Ctx, args: &[Value]) -> R {
    let a = tensor_at(ctx, args, 0, "array_equal")?;
    let b = tensor_at(ctx, args, 1, "array_equal")?;
    Ok(Value::Bool(a.shape() == b.shape() && a.to_vec::<f64>() == b.to_vec::<f64>()))
}

// ------------------------------------------------------------------------------- subscripts

/// Decodes `mask, a0, b0, c0, a1, ...` (see the compiler's `subscript_args`).
fn index_items(args: &[Value], from: usize, name: &str) -> Result<Vec<IndexItem>, VmError> {
    let mask = int_at(args, from, name)?;
    let rest = &args[from + 1..];
    if !rest.len().is_multiple_of(3) {
        return Err(bad(name));
    }
    let opt = |v: Value| match v {
        Value::Int(i) => Ok(Some(i)),
        Value::None => Ok(None),
        _ => Err(bad(name)),
    };
    rest.chunks(3)
        .enumerate()
        .map(|(k, c)| {
            if k < 63 && mask & (1 << k) != 0 {
                Ok(IndexItem::Range { start: opt(c[0])?, stop: opt(c[1])?, step: opt(c[2])? })
            } else {
                match c[0] {
                    Value::Int(i) => Ok(IndexItem::At(i)),
                    _ => Err(bad(name)),
                }
            }
        })
        .collect()
}

fn get(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "tensor.get")?.clone();
    let items = index_items(args, 1, "tensor.get")?;
    ok(ctx, t.index(&items))
}

fn set(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "tensor.set")?.clone();
    let v = arg(args, 1, "tensor.set")?;
    let items = index_items(args, 2, "tensor.set")?;
    let view = t.index(&items).map_err(err)?;
    match scalar(v) {
        Some(s) => view.fill(s),
        None => {
            let src = operand(ctx, v, Some(t.dtype()), "tensor.set")?;
            view.assign(&src).map_err(err)?;
        }
    }
    Ok(Value::None)
}

// ------------------------------------------------------------------------------- properties

fn shape(ctx: &mut Ctx, args: &[Value]) -> R {
    let dims: Vec<Value> = tensor_at(ctx, args, 0, "shape")?.shape().iter().map(|&d| Value::Int(d as i64)).collect();
    Ok(list_value(ctx, dims))
}

fn ndim(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Int(tensor_at(ctx, args, 0, "ndim")?.ndim() as i64))
}

fn size(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Int(tensor_at(ctx, args, 0, "size")?.numel() as i64))
}

fn dtype(ctx: &mut Ctx, args: &[Value]) -> R {
    let name = tensor_at(ctx, args, 0, "dtype")?.dtype().name();
    Ok(ctx.heap.alloc_str(name))
}

fn device(ctx: &mut Ctx, args: &[Value]) -> R {
    let name = tensor_at(ctx, args, 0, "device")?.device().name();
    Ok(ctx.heap.alloc_str(name))
}

fn is_contiguous(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Bool(tensor_at(ctx, args, 0, "is_contiguous")?.is_contiguous()))
}

// ------------------------------------------------------------------------------- views

fn transpose(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "transpose")?.transpose();
    Ok(new_tensor(ctx, t))
}

fn reshape(ctx: &mut Ctx, args: &[Value]) -> R {
    let dims = ints_at(ctx, args, 1, "reshape")?;
    fits(tensor_at(ctx, args, 0, "reshape")?)?;
    let t = tensor_at(ctx, args, 0, "reshape")?.reshape(&dims);
    ok(ctx, t)
}

fn permute(ctx: &mut Ctx, args: &[Value]) -> R {
    let axes = ints_at(ctx, args, 1, "permute")?;
    let t = tensor_at(ctx, args, 0, "permute")?.permute(&axes);
    ok(ctx, t)
}

fn squeeze(ctx: &mut Ctx, args: &[Value]) -> R {
    let axis = opt_int(args, 1, "squeeze")?;
    let t = tensor_at(ctx, args, 0, "squeeze")?.squeeze(axis);
    ok(ctx, t)
}

fn unsqueeze(ctx: &mut Ctx, args: &[Value]) -> R {
    let axis = int_at(args, 1, "unsqueeze")?;
    let t = tensor_at(ctx, args, 0, "unsqueeze")?.unsqueeze(axis);
    ok(ctx, t)
}

fn broadcast_to(ctx: &mut Ctx, args: &[Value]) -> R {
    let shape = shape_at(ctx, args, 1, "broadcast_to")?;
    let t = tensor_at(ctx, args, 0, "broadcast_to")?.broadcast_to(&shape);
    ok(ctx, t)
}

fn contiguous(ctx: &mut Ctx, args: &[Value]) -> R {
    fits(tensor_at(ctx, args, 0, "contiguous")?)?;
    let t = tensor_at(ctx, args, 0, "contiguous")?.contiguous();
    Ok(new_tensor(ctx, t))
}

fn copy(ctx: &mut Ctx, args: &[Value]) -> R {
    fits(tensor_at(ctx, args, 0, "copy")?)?;
    let t = tensor_at(ctx, args, 0, "copy")?.copy();
    Ok(new_tensor(ctx, t))
}

fn astype(ctx: &mut Ctx, args: &[Value]) -> R {
    let dt = dtype_at(ctx, args, 1, DType::F64, "astype")?;
    let t = tensor_at(ctx, args, 0, "astype")?;
    fits(t)?;
    // a new buffer even for the same dtype, as NumPy's astype copies by default
    let t = if t.dtype() == dt { t.copy() } else { t.astype(dt) };
    Ok(new_tensor(ctx, t))
}

// ------------------------------------------------------------------------------- to values

fn item(ctx: &mut Ctx, args: &[Value]) -> R {
    let s = tensor_at(ctx, args, 0, "item")?.item().map_err(err)?;
    Ok(scalar_value(s))
}

/// The elements in row-major order, as an unboxed list (one copy of the buffer).
fn scalars(t: &Tensor) -> List {
    match t.dtype() {
        DType::Bool => List::Bools(t.to_vec::<bool>()),
        DType::I64 => List::Ints(t.to_vec::<i64>()),
        DType::F32 | DType::F64 => List::Floats(t.to_vec::<f64>()),
    }
}

fn need_ndim(t: &Tensor, n: usize, what: &str) -> Result<(), VmError> {
    if t.ndim() != n {
        return Err(VmError::new(
            N2101,
            format!("{what}() needs a {n}-d tensor, not shape {} (use reshape(-1) to flatten first)", noodle_tensor::shape_str(t.shape())),
        ));
    }
    Ok(())
}

fn to_list(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "to_list")?;
    need_ndim(t, 1, "to_list")?;
    fits(t)?;
    let vals = scalars(t);
    Ok(ctx.heap.alloc(Obj::List(vals)))
}

fn to_lists(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "to_lists")?;
    need_ndim(t, 2, "to_lists")?;
    fits(t)?;
    let cols = t.shape()[1];
    let vals = scalars(t);
    let rows: Vec<List> = (0..t.shape()[0]).map(|i| if cols == 0 { List::new() } else { vals.slice(i * cols, (i + 1) * cols) }).collect();
    let out: Vec<Value> = rows.into_iter().map(|r| ctx.heap.alloc(Obj::List(r))).collect();
    Ok(list_value(ctx, out))
}

// ------------------------------------------------------------------------------- math

fn clip(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "clip")?.clone();
    fits(&t)?;
    let (lo, hi) = (opt_scalar(args, 1, "clip")?, opt_scalar(args, 2, "clip")?);
    ok(ctx, kernels::clip(&t, lo, hi))
}

fn softmax(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "softmax")?.clone();
    fits(&t)?;
    let axis = int_at(args, 1, "softmax")?;
    ok(ctx, reduce::softmax(&t, axis))
}

fn sort_parts(ctx: &Ctx, args: &[Value], name: &str) -> Result<(Tensor, Tensor), VmError> {
    let t = tensor_at(ctx, args, 0, name)?;
    let axis = int_at(args, 1, name)?;
    fits(t)?;
    let desc = bool_at(args, 2, name)?;
    kernels::sort(t, axis, desc).map_err(err)
}

fn sort(ctx: &mut Ctx, args: &[Value]) -> R {
    let (v, _) = sort_parts(ctx, args, "sort")?;
    Ok(new_tensor(ctx, v))
}

fn argsort(ctx: &mut Ctx, args: &[Value]) -> R {
    let (_, i) = sort_parts(ctx, args, "argsort")?;
    Ok(new_tensor(ctx, i))
}

fn topk(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "topk")?.clone();
    fits(&t)?;
    let k = int_at(args, 1, "topk")?;
    if k < 0 {
        return Err(VmError::new(N2104, format!("topk: k must not be negative, found {k}")));
    }
    let (v, i) = kernels::topk(&t, k as usize).map_err(err)?;
    let (v, i) = (new_tensor(ctx, v), new_tensor(ctx, i));
    Ok(ctx.heap.alloc(Obj::Tuple([v, i].into_iter().collect())))
}

fn fill(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = tensor_at(ctx, args, 0, "fill")?.clone();
    let v = arg(args, 1, "fill")?;
    match scalar(v) {
        Some(s) => t.fill(s),
        None => {
            let src = operand(ctx, v, Some(t.dtype()), "fill")?;
            t.assign(&src).map_err(err)?;
        }
    }
    Ok(Value::None)
}

const BINOPS: [BinOp; 19] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::FloorDiv,
    BinOp::Mod,
    BinOp::Pow,
    BinOp::Eq,
    BinOp::Ne,
    BinOp::Lt,
    BinOp::Le,
    BinOp::Gt,
    BinOp::Ge,
    BinOp::And,
    BinOp::Or,
    BinOp::Xor,
    // 16 is `@`, handled apart
    BinOp::Add,
    BinOp::Maximum,
    BinOp::Minimum,
];

fn apply_binary(a: &Tensor, b: &Tensor, code: i64) -> noodle_tensor::Result<Tensor> {
    if code == 16 {
        return noodle_tensor::backend(a.device()).matmul(a, b);
    }
    let op = BINOPS[code as usize];
    noodle_tensor::backend(a.device()).binary(op, a, b)
}

fn code_at(args: &[Value], i: usize, limit: i64, name: &str) -> Result<i64, VmError> {
    let c = int_at(args, i, name)?;
    if !(0..limit).contains(&c) {
        return Err(bad(name));
    }
    Ok(c)
}

fn binary(ctx: &mut Ctx, args: &[Value]) -> R {
    let code = code_at(args, 2, BINOPS.len() as i64, "tensor.binary")?;
    let (a, b) = operands(ctx, args, "tensor.binary")?;
    ok(ctx, apply_binary(&a, &b, code))
}

/// `a op= b`: computes `a op b` and writes it back into `a`'s elements (through the view).
fn inplace(ctx: &mut Ctx, args: &[Value]) -> R {
    let code = code_at(args, 2, BINOPS.len() as i64, "tensor.inplace")?;
    let (a, b) = operands(ctx, args, "tensor.inplace")?;
    let r = apply_binary(&a, &b, code).map_err(err)?;
    if r.shape() != a.shape() {
        return Err(VmError::new(
            N2101,
            format!("in-place `{}=` would change the shape {} to {}", if code == 16 { "@" } else { BINOPS[code as usize].symbol() }, noodle_tensor::shape_str(a.shape()), noodle_tensor::shape_str(r.shape())),
        ));
    }
    a.assign(&r).map_err(err)?;
    arg(args, 0, "tensor.inplace")
}

const UNOPS: [UnOp; 13] = [
    UnOp::Exp,
    UnOp::Log,
    UnOp::Sqrt,
    UnOp::Abs,
    UnOp::Sin,
    UnOp::Cos,
    UnOp::Tanh,
    UnOp::Sigmoid,
    UnOp::Relu,
    UnOp::Floor,
    UnOp::Ceil,
    UnOp::Round,
    UnOp::Not,
];

fn unary(ctx: &mut Ctx, args: &[Value]) -> R {
    let code = int_at(args, 1, "tensor.unary")?;
    let op = match code {
        100 => UnOp::Neg,
        c if (0..UNOPS.len() as i64).contains(&c) => UNOPS[c as usize],
        _ => return Err(bad("tensor.unary")),
    };
    let t = tensor_at(ctx, args, 0, "tensor.unary")?.clone();
    fits(&t)?;
    ok(ctx, noodle_tensor::backend(t.device()).unary(op, &t))
}

const REDUCE_OPS: [ReduceOp; 11] =
    [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Min, ReduceOp::Max, ReduceOp::Prod, ReduceOp::Std, ReduceOp::Var, ReduceOp::ArgMin, ReduceOp::ArgMax, ReduceOp::Any, ReduceOp::All];

/// `t.sum(axis, keepdims)`; the last argument says the compiler typed the result as a scalar.
fn reduce_(ctx: &mut Ctx, args: &[Value]) -> R {
    let axes = match arg(args, 1, "tensor.reduce")? {
        Value::None => None,
        _ => Some(ints_at(ctx, args, 1, "tensor.reduce")?),
    };
    let keepdims = bool_at(args, 2, "tensor.reduce")?;
    let code = code_at(args, 3, REDUCE_OPS.len() as i64, "tensor.reduce")?;
    let want_scalar = bool_at(args, 4, "tensor.reduce")?;
    let t = tensor_at(ctx, args, 0, "tensor.reduce")?.clone();
    fits(&t)?;
    let r = noodle_tensor::backend(t.device()).reduce(REDUCE_OPS[code as usize], &t, axes.as_deref(), keepdims).map_err(err)?;
    if want_scalar {
        return Ok(scalar_value(r.item().map_err(err)?));
    }
    Ok(new_tensor(ctx, r))
}

// ------------------------------------------------------------------------------- linalg

fn linalg1(ctx: &mut Ctx, args: &[Value], name: &str, f: fn(&Tensor) -> noodle_tensor::Result<Tensor>) -> R {
    let a = tensor_at(ctx, args, 0, name)?.clone();
    fits(&a)?;
    ok(ctx, f(&a))
}

fn linalg2(ctx: &mut Ctx, args: &[Value], name: &str, f: fn(&Tensor, &Tensor) -> noodle_tensor::Result<Tensor>) -> R {
    let a = tensor_at(ctx, args, 0, name)?.clone();
    let b = tensor_at(ctx, args, 1, name)?.clone();
    fits(&a)?;
    fits(&b)?;
    ok(ctx, f(&a, &b))
}

fn tuple(ctx: &mut Ctx, ts: Vec<Tensor>) -> R {
    let vals: Vec<Value> = ts.into_iter().map(|t| new_tensor(ctx, t)).collect();
    Ok(ctx.heap.alloc(Obj::Tuple(vals.into_iter().collect())))
}

fn solve(ctx: &mut Ctx, args: &[Value]) -> R {
    linalg2(ctx, args, "solve", linalg::solve)
}

fn lstsq(ctx: &mut Ctx, args: &[Value]) -> R {
    linalg2(ctx, args, "lstsq", linalg::lstsq)
}

fn inv(ctx: &mut Ctx, args: &[Value]) -> R {
    linalg1(ctx, args, "inv", linalg::inv)
}

fn cholesky(ctx: &mut Ctx, args: &[Value]) -> R {
    linalg1(ctx, args, "cholesky", linalg::cholesky)
}

fn det(ctx: &mut Ctx, args: &[Value]) -> R {
    let a = tensor_at(ctx, args, 0, "det")?;
    Ok(Value::Float(linalg::det(a).map_err(err)?))
}

fn norm(ctx: &mut Ctx, args: &[Value]) -> R {
    let ord = match arg(args, 1, "norm")? {
        Value::None => None,
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Str(s) => Some(s.to_string()),
            _ => return Err(bad("norm")),
        },
        _ => return Err(bad("norm")),
    };
    let a = tensor_at(ctx, args, 0, "norm")?;
    Ok(Value::Float(linalg::norm(a, ord.as_deref()).map_err(err)?))
}

fn qr(ctx: &mut Ctx, args: &[Value]) -> R {
    let (q, r) = linalg::qr(tensor_at(ctx, args, 0, "qr")?).map_err(err)?;
    tuple(ctx, vec![q, r])
}

fn svd(ctx: &mut Ctx, args: &[Value]) -> R {
    let (u, s, vt) = linalg::svd(tensor_at(ctx, args, 0, "svd")?).map_err(err)?;
    tuple(ctx, vec![u, s, vt])
}

fn eigh(ctx: &mut Ctx, args: &[Value]) -> R {
    let (w, v) = linalg::eigh(tensor_at(ctx, args, 0, "eigh")?).map_err(err)?;
    tuple(ctx, vec![w, v])
}


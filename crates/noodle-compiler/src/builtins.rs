//! Signatures of everything built in: free functions, methods of the built-in types, and the
//! standard modules. Implementations are VM natives (by name) or prelude functions written in
//! Noodle (`PRELUDE`).

use crate::types::Type;
use noodle_nbc::Const;

/// The prelude: generic library functions that call back into Noodle code are written in
/// Noodle itself, so natives never re-enter the VM.
pub const PRELUDE: &str = r#"
# What an actor that monitors another receives when that one stops (`ref.monitor()`).
pub struct Down {
    id: int
    actor: str
    reason: str
    code: str
}

pub def __list_map[T, U](xs: list[T], f: fn(T) -> U) -> list[U] {
    var out: list[U] = []
    for x in xs { out.push(f(x)) }
    return out
}
pub def __list_filter[T](xs: list[T], f: fn(T) -> bool) -> list[T] {
    var out: list[T] = []
    for x in xs {
        if f(x) { out.push(x) }
    }
    return out
}
pub def __list_reduce[T, A](xs: list[T], init: A, f: fn(A, T) -> A) -> A {
    var acc = init
    for x in xs { acc = f(acc, x) }
    return acc
}
pub def __list_any[T](xs: list[T], f: fn(T) -> bool) -> bool {
    for x in xs {
        if f(x) { return true }
    }
    return false
}
pub def __list_all[T](xs: list[T], f: fn(T) -> bool) -> bool {
    for x in xs {
        if not f(x) { return false }
    }
    return true
}
pub def __list_sort_by[T, K](xs: list[T], key: fn(T) -> K) {
    var keys: list[K] = []
    for x in xs { keys.push(key(x)) }
    let order = keys.argsort()
    let copy = xs.copy()
    for i in 0..len(order) { xs[i] = copy[order[i]] }
}
"#;

pub enum Imp {
    Native(&'static str),
    Prelude(&'static str),
    /// Compiled to the `Len` instruction.
    Len,
}

pub struct MethodSig {
    pub params: Vec<Type>,
    /// Number of required parameters (the rest are optional, passed as none).
    pub required: usize,
    pub ret: Type,
    pub imp: Imp,
}

fn sig(params: Vec<Type>, ret: Type, imp: Imp) -> Option<MethodSig> {
    let required = params.len();
    Some(MethodSig { params, required, ret, imp })
}

fn n(name: &'static str) -> Imp {
    Imp::Native(name)
}

/// Can values of this type be ordered with `<` (sort, min, max)?
pub fn orderable(t: &Type) -> bool {
    match t {
        Type::Int | Type::Float | Type::Str | Type::Bytes | Type::Bool | Type::Unknown => true,
        Type::Tuple(ts) => ts.iter().all(orderable),
        Type::List(t) => orderable(t),
        _ => false,
    }
}

/// Can values of this type be dict keys or set elements?
pub fn hashable(t: &Type) -> bool {
    match t {
        Type::Int | Type::Float | Type::Str | Type::Bytes | Type::Bool | Type::None | Type::Unknown | Type::Any | Type::Param(..) | Type::Var(_) => true,
        Type::Optional(t) => hashable(t),
        Type::Tuple(ts) => ts.iter().all(hashable),
        Type::Enum(_) | Type::Struct(_) => true,
        _ => false,
    }
}

/// Methods of built-in types. `recv` must be resolved.
pub fn method(recv: &Type, name: &str) -> Option<MethodSig> {
    use Type::*;
    let int = || Int;
    match recv {
        Str => match name {
            "len" => sig(vec![], int(), Imp::Len),
            "upper" => sig(vec![], Str, n("str.upper")),
            "lower" => sig(vec![], Str, n("str.lower")),
            "trim" => sig(vec![], Str, n("str.trim")),
            "trim_start" => sig(vec![], Str, n("str.trim_start")),
            "trim_end" => sig(vec![], Str, n("str.trim_end")),
            "split" => sig(vec![Str], Type::list(Str), n("str.split")),
            "split_whitespace" => sig(vec![], Type::list(Str), n("str.split_whitespace")),
            "lines" => sig(vec![], Type::list(Str), n("str.lines")),
            "join" => sig(vec![Type::list(Str)], Str, n("str.join")),
            "contains" => sig(vec![Str], Bool, n("str.contains")),
            "starts_with" => sig(vec![Str], Bool, n("str.starts_with")),
            "ends_with" => sig(vec![Str], Bool, n("str.ends_with")),
            "find" => sig(vec![Str], Type::optional(int()), n("str.find")),
            "replace" => sig(vec![Str, Str], Str, n("str.replace")),
            "repeat" => sig(vec![int()], Str, n("str.repeat")),
            "chars" => sig(vec![], Type::list(Str), n("str.chars")),
            "bytes" => sig(vec![], Bytes, n("str.bytes")),
            "is_digit" => sig(vec![], Bool, n("str.is_digit")),
            "is_alpha" => sig(vec![], Bool, n("str.is_alpha")),
            "is_space" => sig(vec![], Bool, n("str.is_space")),
            _ => Option::None,
        },
        Bytes => match name {
            "len" => sig(vec![], int(), Imp::Len),
            "decode" => sig(vec![], Str, n("bytes.decode")),
            "hex" => sig(vec![], Str, n("bytes.hex")),
            _ => Option::None,
        },
        List(e) => {
            let e = (**e).clone();
            let l = || Type::list(e.clone());
            match name {
                "len" => sig(vec![], int(), Imp::Len),
                "push" => sig(vec![e.clone()], None, n("list.push")),
                "pop" => sig(vec![], e.clone(), n("list.pop")),
                "insert" => sig(vec![int(), e.clone()], None, n("list.insert")),
                "remove_at" => sig(vec![int()], e.clone(), n("list.remove_at")),
                "extend" => sig(vec![l()], None, n("list.extend")),
                "contains" => sig(vec![e.clone()], Bool, n("list.contains")),
                "index_of" => sig(vec![e.clone()], Type::optional(int()), n("list.index_of")),
                "reverse" => sig(vec![], None, n("list.reverse")),
                "sort" if orderable(&e) => sig(vec![], None, n("list.sort")),
                "sorted" if orderable(&e) => sig(vec![], l(), n("list.sorted")),
                "argsort" if orderable(&e) || matches!(e, Param(..)) => sig(vec![], Type::list(int()), n("list.argsort")),
                "copy" => sig(vec![], l(), n("list.copy")),
                "clear" => sig(vec![], None, n("list.clear")),
                "enumerate" => sig(vec![], Type::list(Tuple(vec![int(), e.clone()])), n("list.enumerate")),
                "join" if e == Str => sig(vec![Str], Str, n("list.join")),
                "sum" if e == Int => sig(vec![], int(), n("list.sum_int")),
                "sum" if e == Float => sig(vec![], Float, n("list.sum_float")),
                "min" if orderable(&e) => sig(vec![], e.clone(), n("list.min")),
                "max" if orderable(&e) => sig(vec![], e.clone(), n("list.max")),
                "first" => sig(vec![], Type::optional(e.clone()), n("list.first")),
                "last" => sig(vec![], Type::optional(e.clone()), n("list.last")),
                // `map`, `filter`, `reduce`, `any`, `all`, `sort_by` are generic over the
                // callback and handled by the caller through the prelude.
                "map" | "filter" | "reduce" | "any" | "all" | "sort_by" => Some(MethodSig { params: vec![], required: 0, ret: None, imp: Imp::Prelude(prelude_name(name)) }),
                _ => Option::None,
            }
        }
        Dict(k, v) => {
            let (k, v) = ((**k).clone(), (**v).clone());
            match name {
                "len" => sig(vec![], int(), Imp::Len),
                "get" => Some(MethodSig { params: vec![k, v.clone()], required: 1, ret: v, imp: n("dict.get") }),
                "contains" => sig(vec![k], Bool, n("dict.contains")),
                "remove" => sig(vec![k], Type::optional(v), n("dict.remove")),
                "keys" => sig(vec![], Type::list(k), n("dict.keys")),
                "values" => sig(vec![], Type::list(v), n("dict.values")),
                "items" => sig(vec![], Type::list(Tuple(vec![k, v])), n("dict.items")),
                "clear" => sig(vec![], None, n("dict.clear")),
                "copy" => sig(vec![], Dict(Box::new(k), Box::new(v)), n("dict.copy")),
                _ => Option::None,
            }
        }
        Set(e) => {
            let e = (**e).clone();
            let s = || Set(Box::new(e.clone()));
            match name {
                "len" => sig(vec![], int(), Imp::Len),
                "add" => sig(vec![e.clone()], None, n("set.add")),
                "remove" => sig(vec![e.clone()], Bool, n("set.remove")),
                "contains" => sig(vec![e.clone()], Bool, n("set.contains")),
                "union" => sig(vec![s()], s(), n("set.union")),
                "intersection" => sig(vec![s()], s(), n("set.intersection")),
                "difference" => sig(vec![s()], s(), n("set.difference")),
                "to_list" => sig(vec![], Type::list(e.clone()), n("set.to_list")),
                "copy" => sig(vec![], s(), n("set.copy")),
                "clear" => sig(vec![], None, n("set.clear")),
                _ => Option::None,
            }
        }
        _ => Option::None,
    }
}

fn prelude_name(m: &str) -> &'static str {
    match m {
        "map" => "__list_map",
        "filter" => "__list_filter",
        "reduce" => "__list_reduce",
        "any" => "__list_any",
        "all" => "__list_all",
        _ => "__list_sort_by",
    }
}

/// Every method name of a built-in type, for "did you mean" hints.
pub const METHOD_NAMES: &[&str] = &[
    "len", "upper", "lower", "trim", "trim_start", "trim_end", "split", "split_whitespace", "lines", "join", "contains",
    "starts_with", "ends_with", "find", "replace", "repeat", "chars", "bytes", "is_digit", "is_alpha", "is_space", "decode",
    "hex", "push", "pop", "insert", "remove_at", "extend", "index_of", "reverse", "sort", "sorted", "copy", "clear",
    "enumerate", "sum", "min", "max", "first", "last", "map", "filter", "reduce", "any", "all", "sort_by", "get", "remove",
    "keys", "values", "items", "add", "union", "intersection", "difference", "to_list",
];

/// Free functions that are always in scope.
pub fn builtin_function(name: &str) -> Option<&'static str> {
    Some(match name {
        "print" => "print",
        "len" => "len",
        "range" => "range",
        "str" => "str",
        "int" => "int",
        "float" => "float",
        "bool" => "bool",
        "abs" => "abs",
        "min" => "min",
        "max" => "max",
        "assert" => "assert",
        "type_of" => "type_of",
        "set" => "set",
        _ => return None,
    })
}

pub fn std_module(name: &str) -> Option<&'static str> {
    Some(match name {
        "std.math" => "std.math",
        "std.string" => "std.string",
        "std.time" => "std.time",
        "std.io" => "std.io",
        "std.tensor" => "std.tensor",
        "std.linalg" => "std.linalg",
        "std.db" => "std.db",
        "std.os" => "std.os",
        "std.actor" => "std.actor",
        _ => return None,
    })
}

/// Every item of every standard module, as `module::item` (static, so imports of single items
/// need no allocated names).
pub const STD_ITEMS: &[&str] = &[
    "std.math::pi", "std.math::e", "std.math::inf", "std.math::nan", "std.math::sqrt", "std.math::sin", "std.math::cos",
    "std.math::tan", "std.math::asin", "std.math::acos", "std.math::atan", "std.math::atan2", "std.math::exp",
    "std.math::log", "std.math::log2", "std.math::log10", "std.math::pow", "std.math::floor", "std.math::ceil",
    "std.math::round", "std.math::trunc", "std.math::hypot", "std.math::is_nan", "std.math::is_inf", "std.math::gcd",
    "std.string::from_code", "std.string::code", "std.string::digits", "std.string::ascii_lowercase",
    "std.string::ascii_uppercase", "std.string::ascii_letters", "std.string::whitespace", "std.time::now",
    "std.time::monotonic", "std.time::sleep", "std.io::read_line", "std.io::read_all", "std.io::read_file",
    "std.io::write_file", "std.io::append_file", "std.io::file_exists", "std.io::write", "std.io::eprint", "std.os::env",
    "std.db::connect",
];

/// The items of `std.tensor` and `std.linalg` (their signatures live in `tensor.rs`).
pub const TENSOR_ITEMS: &[&str] = &[
    "std.tensor::f32", "std.tensor::f64", "std.tensor::i64", "std.tensor::bool", "std.tensor::from_list", "std.tensor::zeros",
    "std.tensor::ones", "std.tensor::full", "std.tensor::eye", "std.tensor::arange", "std.tensor::linspace", "std.tensor::rand",
    "std.tensor::randn", "std.tensor::randint", "std.tensor::where", "std.tensor::concat", "std.tensor::stack",
    "std.tensor::split", "std.tensor::matmul", "std.tensor::maximum", "std.tensor::minimum", "std.tensor::allclose",
    "std.tensor::array_equal", "std.tensor::exp", "std.tensor::log", "std.tensor::sqrt", "std.tensor::abs", "std.tensor::sin",
    "std.tensor::cos", "std.tensor::tanh", "std.tensor::sigmoid", "std.tensor::relu", "std.tensor::softmax", "std.tensor::clip",
    "std.tensor::sum", "std.tensor::mean", "std.linalg::solve", "std.linalg::inv", "std.linalg::det", "std.linalg::qr",
    "std.linalg::cholesky", "std.linalg::svd", "std.linalg::eigh", "std.linalg::norm", "std.linalg::lstsq",
];

pub fn std_item_key(module: &str, item: &str) -> Option<&'static str> {
    STD_ITEMS.iter().chain(TENSOR_ITEMS).copied().find(|k| k.split_once("::") == Some((module, item)))
}

pub enum StdItem {
    /// Parameters (`variadic` takes any number of `any`), return type, native name.
    Func { params: Vec<Type>, variadic: bool, ret: Type, native: &'static str },
    Const(Const, Type),
}

fn f(params: Vec<Type>, ret: Type, native: &'static str) -> Option<StdItem> {
    Some(StdItem::Func { params, variadic: false, ret, native })
}

pub fn std_item(module: &str, item: &str) -> Option<StdItem> {
    use Type::*;
    match module {
        "std.math" => match item {
            "pi" => Some(StdItem::Const(Const::Float(std::f64::consts::PI), Float)),
            "e" => Some(StdItem::Const(Const::Float(std::f64::consts::E), Float)),
            "inf" => Some(StdItem::Const(Const::Float(f64::INFINITY), Float)),
            "nan" => Some(StdItem::Const(Const::Float(f64::NAN), Float)),
            "sqrt" => f(vec![Float], Float, "math.sqrt"),
            "sin" => f(vec![Float], Float, "math.sin"),
            "cos" => f(vec![Float], Float, "math.cos"),
            "tan" => f(vec![Float], Float, "math.tan"),
            "asin" => f(vec![Float], Float, "math.asin"),
            "acos" => f(vec![Float], Float, "math.acos"),
            "atan" => f(vec![Float], Float, "math.atan"),
            "atan2" => f(vec![Float, Float], Float, "math.atan2"),
            "exp" => f(vec![Float], Float, "math.exp"),
            "log" => f(vec![Float], Float, "math.log"),
            "log2" => f(vec![Float], Float, "math.log2"),
            "log10" => f(vec![Float], Float, "math.log10"),
            "pow" => f(vec![Float, Float], Float, "math.pow"),
            "floor" => f(vec![Float], Int, "math.floor"),
            "ceil" => f(vec![Float], Int, "math.ceil"),
            "round" => f(vec![Float], Int, "math.round"),
            "trunc" => f(vec![Float], Int, "math.trunc"),
            "hypot" => f(vec![Float, Float], Float, "math.hypot"),
            "is_nan" => f(vec![Float], Bool, "math.is_nan"),
            "is_inf" => f(vec![Float], Bool, "math.is_inf"),
            "gcd" => f(vec![Int, Int], Int, "math.gcd"),
            _ => Option::None,
        },
        "std.string" => match item {
            "from_code" => f(vec![Int], Str, "string.from_code"),
            "code" => f(vec![Str], Int, "string.code"),
            "digits" => Some(StdItem::Const(Const::Str("0123456789".into()), Str)),
            "ascii_lowercase" => Some(StdItem::Const(Const::Str("abcdefghijklmnopqrstuvwxyz".into()), Str)),
            "ascii_uppercase" => Some(StdItem::Const(Const::Str("ABCDEFGHIJKLMNOPQRSTUVWXYZ".into()), Str)),
            "ascii_letters" => Some(StdItem::Const(Const::Str("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".into()), Str)),
            "whitespace" => Some(StdItem::Const(Const::Str(" \t\n\r\x0b\x0c".into()), Str)),
            _ => Option::None,
        },
        "std.time" => match item {
            "now" => f(vec![], Float, "time.now"),
            "monotonic" => f(vec![], Float, "time.monotonic"),
            "sleep" => f(vec![Float], None, "time.sleep"),
            _ => Option::None,
        },
        "std.os" => match item {
            "env" => f(vec![Str], Type::optional(Str), "os.env"),
            _ => Option::None,
        },
        // called through `db.rs`; as a value it is reported like any native
        "std.db" if item == "connect" => Some(StdItem::Func { params: vec![], variadic: true, ret: Unknown, native: "db.connect" }),
        "std.tensor" | "std.linalg" => {
            let key = std_item_key(module, item)?;
            if module == "std.tensor" && crate::tensor::DTYPE_NAMES.contains(&item) {
                return Some(StdItem::Const(Const::Str(item.to_string()), Str));
            }
            // called through `tensor.rs`; as a value it is reported like any native
            Some(StdItem::Func { params: vec![], variadic: true, ret: Unknown, native: key })
        }
        "std.io" => match item {
            "read_line" => f(vec![], Type::optional(Str), "io.read_line"),
            "read_all" => f(vec![], Str, "io.read_all"),
            "read_file" => f(vec![Str], Str, "io.read_file"),
            "write_file" => f(vec![Str, Str], None, "io.write_file"),
            "append_file" => f(vec![Str, Str], None, "io.append_file"),
            "file_exists" => f(vec![Str], Bool, "io.file_exists"),
            "write" => f(vec![Str], None, "io.write"),
            "eprint" => Some(StdItem::Func { params: vec![], variadic: true, ret: None, native: "io.eprint" }),
            _ => Option::None,
        },
        _ => Option::None,
    }
}

/// Every native the compiler can reference; the VM must provide each (checked by a test).
pub fn native_names() -> Vec<&'static str> {
    let mut v = vec![
        "print", "repl_show", "int", "float", "bool", "abs", "min", "max", "assert", "type_of", "range", "set_new",
        "list_concat", "list_repeat", "str_repeat",
    ];
    let samples = [
        Type::Str,
        Type::Bytes,
        Type::list(Type::Int),
        Type::list(Type::Float),
        Type::list(Type::Str),
        Type::Dict(Box::new(Type::Str), Box::new(Type::Int)),
        Type::Set(Box::new(Type::Int)),
    ];
    for t in &samples {
        for m in METHOD_NAMES {
            if let Some(MethodSig { imp: Imp::Native(n), .. }) = method(t, m) {
                if !v.contains(&n) {
                    v.push(n);
                }
            }
        }
    }
    v.extend(crate::tensor::native_names());
    v.extend(crate::db::NATIVES);
    v.extend(crate::actor::NATIVES);
    for m in ["std.math", "std.string", "std.time", "std.io", "std.os"] {
        for item in [
            "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "exp", "log", "log2", "log10", "pow", "floor", "ceil",
            "round", "trunc", "hypot", "is_nan", "is_inf", "gcd", "from_code", "code", "now", "monotonic", "sleep", "read_line",
            "read_all", "read_file", "write_file", "append_file", "file_exists", "write", "eprint", "env",
        ] {
            if let Some(StdItem::Func { native, .. }) = std_item(m, item) {
                if !v.contains(&native) {
                    v.push(native);
                }
            }
        }
    }
    v
}

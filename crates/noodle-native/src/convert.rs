//! Typed conversion between Noodle values and Rust values, in both directions: `int` is
//! `i64`, `float` `f64`, `bool` `bool`, `str` `&str` or `String`, `bytes` [`Bytes`] (or
//! `&[u8]` to read), a `list[T]` a `Vec<T>`, a `dict[K, V]` an `IndexMap<K, V>` (insertion
//! order kept), tuples tuples, `T?` an `Option<T>`, a native object [`Ref`] (to read) or
//! [`Object`] (to make), and any value [`Value`] itself. A value of another type is an error
//! with code N2401 that names both types.
//!
//! Natives use the `as_*` helpers below, which report a mismatch as N2099 instead: the checker
//! has already proved every argument's type, so only hand-made bytecode can pass a wrong one.

use crate::codes::N2401;
use indexmap::IndexMap;
use noodle_nbc::Program;
use noodle_vm::native::{NativeBox, NativeObject};
use noodle_vm::value::{Dict, Fields, SetMap};
use noodle_vm::{Heap, List, Obj, Value, VmError};
use std::hash::Hash;

/// A Rust type a Noodle value can be read as.
pub trait FromValue<'h>: Sized {
    /// The Noodle type this reads, for error messages (`int`, `list[str]`).
    fn expected() -> String;
    /// The value as `Self`, or None when it is of another type.
    fn from_value(heap: &'h Heap, v: Value) -> Option<Self>;

    /// A dict's string key, which the dict keeps as text rather than as a string value
    /// (`ops::stored_dict_key`); None for every type but the string ones.
    fn from_key_text(_text: &'h str) -> Option<Self> {
        None
    }

    /// `from_value`, with N2401 naming both types on a mismatch.
    fn convert(heap: &'h Heap, program: &Program, v: Value) -> Result<Self, VmError> {
        Self::from_value(heap, v).ok_or_else(|| mismatch(&Self::expected(), heap, program, v))
    }
}

/// N2401: `v` is not the `expected` type.
pub fn mismatch(expected: &str, heap: &Heap, program: &Program, v: Value) -> VmError {
    VmError::new(N2401, format!("expected a value of type `{expected}`, found `{}`", noodle_vm::ops::type_name(heap, program, v)))
}

/// A Rust value that becomes a Noodle value.
pub trait IntoValue {
    fn into_value(self, heap: &mut Heap, program: &Program) -> Value;
}

/// `bytes`, as an owned Rust value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

/// A native object of type `T`, read from a Noodle value (borrowed from the heap).
pub struct Ref<'h, T>(pub &'h T);

/// A native object to put on the heap.
pub struct Object<T>(pub T);

impl<'h> FromValue<'h> for Value {
    fn expected() -> String {
        "any".into()
    }
    fn from_value(_: &'h Heap, v: Value) -> Option<Value> {
        Some(v)
    }
}

impl<'h> FromValue<'h> for () {
    fn expected() -> String {
        "none".into()
    }
    fn from_value(_: &'h Heap, v: Value) -> Option<()> {
        matches!(v, Value::None).then_some(())
    }
}

impl<'h> FromValue<'h> for i64 {
    fn expected() -> String {
        "int".into()
    }
    fn from_value(_: &'h Heap, v: Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }
}

impl<'h> FromValue<'h> for f64 {
    fn expected() -> String {
        "float".into()
    }
    /// An `int` widens, as it does wherever Noodle expects a `float`.
    fn from_value(_: &'h Heap, v: Value) -> Option<f64> {
        match v {
            Value::Float(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            _ => None,
        }
    }
}

impl<'h> FromValue<'h> for bool {
    fn expected() -> String {
        "bool".into()
    }
    fn from_value(_: &'h Heap, v: Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl<'h> FromValue<'h> for &'h str {
    fn expected() -> String {
        "str".into()
    }
    fn from_value(heap: &'h Heap, v: Value) -> Option<&'h str> {
        match v {
            Value::Obj(r) => match heap.get(r) {
                Obj::Str(s) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }
    fn from_key_text(text: &'h str) -> Option<&'h str> {
        Some(text)
    }
}

impl<'h> FromValue<'h> for String {
    fn expected() -> String {
        "str".into()
    }
    fn from_value(heap: &'h Heap, v: Value) -> Option<String> {
        <&str>::from_value(heap, v).map(str::to_string)
    }
    fn from_key_text(text: &'h str) -> Option<String> {
        Some(text.to_string())
    }
}

impl<'h> FromValue<'h> for &'h [u8] {
    fn expected() -> String {
        "bytes".into()
    }
    fn from_value(heap: &'h Heap, v: Value) -> Option<&'h [u8]> {
        match v {
            Value::Obj(r) => match heap.get(r) {
                Obj::Bytes(b) => Some(b),
                _ => None,
            },
            _ => None,
        }
    }
}

impl<'h> FromValue<'h> for Bytes {
    fn expected() -> String {
        "bytes".into()
    }
    fn from_value(heap: &'h Heap, v: Value) -> Option<Bytes> {
        <&[u8]>::from_value(heap, v).map(|b| Bytes(b.to_vec()))
    }
}

impl<'h, T: FromValue<'h>> FromValue<'h> for Option<T> {
    fn expected() -> String {
        format!("{}?", T::expected())
    }
    fn from_value(heap: &'h Heap, v: Value) -> Option<Option<T>> {
        match v {
            Value::None => Some(None),
            v => T::from_value(heap, v).map(Some),
        }
    }
}

impl<'h, T: FromValue<'h>> FromValue<'h> for Vec<T> {
    fn expected() -> String {
        format!("list[{}]", T::expected())
    }
    fn from_value(heap: &'h Heap, v: Value) -> Option<Vec<T>> {
        match v {
            Value::Obj(r) => match heap.get(r) {
                Obj::List(items) => items.iter().map(|x| T::from_value(heap, x)).collect(),
                _ => None,
            },
            _ => None,
        }
    }
}

impl<'h, K: FromValue<'h> + Hash + Eq, V: FromValue<'h>> FromValue<'h> for IndexMap<K, V> {
    fn expected() -> String {
        format!("dict[{}, {}]", K::expected(), V::expected())
    }
    fn from_value(heap: &'h Heap, v: Value) -> Option<IndexMap<K, V>> {
        match v {
            Value::Obj(r) => match heap.get(r) {
                Obj::Dict(d) => d
                    .iter()
                    .map(|(image, (k, v))| {
                        let key = match (image, k) {
                            (noodle_vm::Key::Str(text), Value::Undef) => K::from_key_text(text.as_str())?,
                            _ => K::from_value(heap, *k)?,
                        };
                        Some((key, V::from_value(heap, *v)?))
                    })
                    .collect(),
                _ => None,
            },
            _ => None,
        }
    }
}

macro_rules! tuple_from {
    ($n:expr; $($t:ident $i:tt),*) => {
        impl<'h, $($t: FromValue<'h>),*> FromValue<'h> for ($($t,)*) {
            fn expected() -> String {
                let parts: Vec<String> = vec![$($t::expected()),*];
                format!("({})", parts.join(", "))
            }
            fn from_value(heap: &'h Heap, v: Value) -> Option<Self> {
                match v {
                    Value::Obj(r) => match heap.get(r) {
                        Obj::Tuple(items) if items.len() == $n => Some(($($t::from_value(heap, items[$i])?,)*)),
                        _ => None,
                    },
                    _ => None,
                }
            }
        }
    };
}
tuple_from!(2; A 0, B 1);
tuple_from!(3; A 0, B 1, C 2);
tuple_from!(4; A 0, B 1, C 2, D 3);

impl<'h, T: NativeObject> FromValue<'h> for Ref<'h, T> {
    fn expected() -> String {
        // the object's own name needs an instance; the Rust type name says enough here
        std::any::type_name::<T>().rsplit("::").next().unwrap_or("object").to_string()
    }
    fn from_value(heap: &'h Heap, v: Value) -> Option<Ref<'h, T>> {
        heap.native::<T>(v).map(Ref)
    }
}

impl IntoValue for Value {
    fn into_value(self, _: &mut Heap, _: &Program) -> Value {
        self
    }
}

impl IntoValue for () {
    fn into_value(self, _: &mut Heap, _: &Program) -> Value {
        Value::None
    }
}

impl IntoValue for i64 {
    fn into_value(self, _: &mut Heap, _: &Program) -> Value {
        Value::Int(self)
    }
}

impl IntoValue for f64 {
    fn into_value(self, _: &mut Heap, _: &Program) -> Value {
        Value::Float(self)
    }
}

impl IntoValue for bool {
    fn into_value(self, _: &mut Heap, _: &Program) -> Value {
        Value::Bool(self)
    }
}

impl IntoValue for &str {
    fn into_value(self, heap: &mut Heap, _: &Program) -> Value {
        heap.alloc_str(self)
    }
}

impl IntoValue for String {
    fn into_value(self, heap: &mut Heap, _: &Program) -> Value {
        heap.alloc_str(self)
    }
}

impl IntoValue for Bytes {
    fn into_value(self, heap: &mut Heap, _: &Program) -> Value {
        heap.alloc(Obj::Bytes(self.0.into()))
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self, heap: &mut Heap, program: &Program) -> Value {
        match self {
            Some(v) => v.into_value(heap, program),
            None => Value::None,
        }
    }
}

impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self, heap: &mut Heap, program: &Program) -> Value {
        let items: Vec<Value> = self.into_iter().map(|x| x.into_value(heap, program)).collect();
        heap.alloc(Obj::List(items.into()))
    }
}

impl<K: IntoValue, V: IntoValue> IntoValue for IndexMap<K, V> {
    fn into_value(self, heap: &mut Heap, program: &Program) -> Value {
        let mut d = Dict::default();
        for (k, v) in self {
            let k = k.into_value(heap, program);
            let v = v.into_value(heap, program);
            let image = noodle_vm::ops::key_of(heap, program, k);
            let stored = noodle_vm::ops::stored_dict_key(&image, k);
            d.insert(image, (stored, v));
        }
        heap.alloc(Obj::Dict(Box::new(d)))
    }
}

impl<T: NativeObject> IntoValue for Object<T> {
    fn into_value(self, heap: &mut Heap, _: &Program) -> Value {
        heap.alloc(Obj::Native(NativeBox::new(self.0)))
    }
}

macro_rules! tuple_into {
    ($($t:ident $i:tt),*) => {
        impl<$($t: IntoValue),*> IntoValue for ($($t,)*) {
            fn into_value(self, heap: &mut Heap, program: &Program) -> Value {
                let items: Fields = [$(self.$i.into_value(heap, program)),*].into_iter().collect();
                heap.alloc(Obj::Tuple(items))
            }
        }
    };
}
tuple_into!(A 0, B 1);
tuple_into!(A 0, B 1, C 2);
tuple_into!(A 0, B 1, C 2, D 3);

/// Argument `i` of a native as `T` (N2401, naming both types, when it is another type).
pub fn arg<'h, T: FromValue<'h>>(ctx: &'h noodle_vm::native::Ctx, args: &[Value], i: usize) -> Result<T, VmError> {
    let v = args.get(i).copied().ok_or_else(|| VmError::bad_operand("native (missing argument)"))?;
    T::convert(ctx.heap, ctx.program, v)
}

/// A Rust value as a native's result.
pub fn ret(ctx: &mut noodle_vm::native::Ctx, v: impl IntoValue) -> Result<Value, noodle_vm::native::Flow> {
    Ok(v.into_value(ctx.heap, ctx.program))
}

/// The arguments of a call from Rust (`Runtime::call`): a tuple of `IntoValue`s (or `()`), or
/// a `Vec` of one type.
pub trait IntoArgs {
    fn into_args(self, heap: &mut Heap, program: &Program) -> Vec<Value>;
}

impl IntoArgs for () {
    fn into_args(self, _: &mut Heap, _: &Program) -> Vec<Value> {
        Vec::new()
    }
}

impl<T: IntoValue> IntoArgs for Vec<T> {
    fn into_args(self, heap: &mut Heap, program: &Program) -> Vec<Value> {
        self.into_iter().map(|v| v.into_value(heap, program)).collect()
    }
}

macro_rules! args_tuple {
    ($($t:ident $i:tt),*) => {
        impl<$($t: IntoValue),*> IntoArgs for ($($t,)*) {
            fn into_args(self, heap: &mut Heap, program: &Program) -> Vec<Value> {
                vec![$(self.$i.into_value(heap, program)),*]
            }
        }
    };
}
args_tuple!(A 0);
args_tuple!(A 0, B 1);
args_tuple!(A 0, B 1, C 2);
args_tuple!(A 0, B 1, C 2, D 3);
args_tuple!(A 0, B 1, C 2, D 3, E 4);

// ---------------------------------------------------------------------------------------------
// the helpers natives use: a mismatch is N2099 (malformed bytecode), naming the native

/// N2099 for native `name`: an argument the checker would never have let through.
pub fn bad(name: &str) -> VmError {
    VmError::bad_operand(name)
}

/// The receiver of a native method (its first argument) as the native object `T` the method
/// was declared on; N2099 for anything else, or no argument at all.
pub fn receiver<'h, T: NativeObject>(heap: &'h Heap, args: &[Value], name: &str) -> Result<&'h T, VmError> {
    args.first().and_then(|v| heap.native::<T>(*v)).ok_or_else(|| bad(name))
}

/// `receiver`, for changing it.
pub fn receiver_mut<'h, T: NativeObject>(heap: &'h mut Heap, args: &[Value], name: &str) -> Result<&'h mut T, VmError> {
    args.first().and_then(|v| heap.native_mut::<T>(*v)).ok_or_else(|| bad(name))
}

pub fn arity(args: &[Value], n: usize, name: &str) -> Result<(), VmError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(bad(name))
    }
}

pub fn as_int(v: Value, name: &str) -> Result<i64, VmError> {
    match v {
        Value::Int(i) => Ok(i),
        _ => Err(bad(name)),
    }
}

/// A float argument; ints are accepted and widened.
pub fn as_float(v: Value, name: &str) -> Result<f64, VmError> {
    match v {
        Value::Float(f) => Ok(f),
        Value::Int(i) => Ok(i as f64),
        _ => Err(bad(name)),
    }
}

pub fn as_str<'h>(heap: &'h Heap, v: Value, name: &str) -> Result<&'h str, VmError> {
    <&str>::from_value(heap, v).ok_or_else(|| bad(name))
}

pub fn as_bytes<'h>(heap: &'h Heap, v: Value, name: &str) -> Result<&'h [u8], VmError> {
    <&[u8]>::from_value(heap, v).ok_or_else(|| bad(name))
}

pub fn as_list<'h>(heap: &'h Heap, v: Value, name: &str) -> Result<&'h List, VmError> {
    match v {
        Value::Obj(r) => match heap.get(r) {
            Obj::List(l) => Ok(l),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

pub fn as_list_mut<'h>(heap: &'h mut Heap, v: Value, name: &str) -> Result<&'h mut List, VmError> {
    match v {
        Value::Obj(r) => match heap.get_mut(r) {
            Obj::List(l) => Ok(l),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

pub fn as_dict<'h>(heap: &'h Heap, v: Value, name: &str) -> Result<&'h Dict, VmError> {
    match v {
        Value::Obj(r) => match heap.get(r) {
            Obj::Dict(d) => Ok(d),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

pub fn as_dict_mut<'h>(heap: &'h mut Heap, v: Value, name: &str) -> Result<&'h mut Dict, VmError> {
    match v {
        Value::Obj(r) => match heap.get_mut(r) {
            Obj::Dict(d) => Ok(d),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

pub fn as_set<'h>(heap: &'h Heap, v: Value, name: &str) -> Result<&'h SetMap, VmError> {
    match v {
        Value::Obj(r) => match heap.get(r) {
            Obj::Set(s) => Ok(s),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

pub fn as_set_mut<'h>(heap: &'h mut Heap, v: Value, name: &str) -> Result<&'h mut SetMap, VmError> {
    match v {
        Value::Obj(r) => match heap.get_mut(r) {
            Obj::Set(s) => Ok(s),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

/// Reserves room for `n` values, failing cleanly (N2011) instead of aborting on absurd sizes.
pub fn vec_with_capacity<T>(n: usize, what: &str) -> Result<Vec<T>, VmError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| VmError::arg(format!("{what} is too large")))?;
    Ok(v)
}

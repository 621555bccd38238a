//! Run-time values. A `Value` is 16 bytes and `Copy`: scalars inline, everything else a handle
//! into the owning heap. No reference counting on the hot path.

use indexmap::IndexMap;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObjRef(pub u32);

#[derive(Clone, Copy, Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Obj(ObjRef),
    /// A plain function (no captures), by index.
    Func(u32),
    /// A global that has not been assigned yet. Never visible to programs.
    Undef,
}

/// A hashable image of a value, used as the key of dicts and sets. Strings share their buffer
/// with the string object, so making a key does not copy the text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    None,
    Bool(bool),
    Int(i64),
    /// Float bits, with -0.0 folded into 0.0.
    Float(u64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Box<[Key]>),
    /// An enum value: by variant and payload.
    Variant(u16, Box<[Key]>),
    /// A struct or other reference object: by identity.
    Ref(u32),
}

/// Fast keyed hashing with a per-process random seed (foldhash, as hashbrown uses).
pub type BuildHasher = foldhash::fast::RandomState;
/// key image -> (key value, value), in insertion order.
pub type DictMap = IndexMap<Key, (Value, Value), BuildHasher>;
/// key image -> element value, in insertion order.
pub type SetMap = IndexMap<Key, Value, BuildHasher>;

pub enum Obj {
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    List(Vec<Value>),
    Tuple(Box<[Value]>),
    /// Boxed so that `Obj` (and every heap slot) stays small.
    Dict(Box<DictMap>),
    Set(Box<SetMap>),
    /// A struct instance or an enum variant (`ty` indexes `Program::types`).
    Record { ty: u16, fields: Box<[Value]> },
    Closure { func: u32, captures: Box<[Value]> },
    /// A mutable variable shared between a scope and its closures.
    Cell(Value),
}

impl Obj {
    /// Pushes every value this object refers to (for the collector).
    pub fn trace(&self, out: &mut Vec<ObjRef>) {
        let mut push = |v: &Value| {
            if let Value::Obj(r) = v {
                out.push(*r)
            }
        };
        match self {
            Obj::Str(_) | Obj::Bytes(_) => {}
            Obj::List(v) => v.iter().for_each(&mut push),
            Obj::Tuple(v) | Obj::Record { fields: v, .. } | Obj::Closure { captures: v, .. } => v.iter().for_each(&mut push),
            Obj::Dict(m) => m.values().for_each(|(k, v)| {
                push(k);
                push(v)
            }),
            Obj::Set(m) => m.values().for_each(&mut push),
            Obj::Cell(v) => push(v),
        }
    }
}

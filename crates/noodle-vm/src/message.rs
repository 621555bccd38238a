//! Values crossing from one heap to another. Each actor runs in its own `Vm` with its own
//! heap, so a value cannot simply be handed from one actor to another: `export` turns it into a
//! `Msg` (plain data that owns everything it holds, `Send`, and shaped so it can later be
//! serialised for other nodes) and `import` rebuilds it in the receiving heap. A native object
//! says how it crosses (`NativeObject::send`): a tensor shares its reference-counted buffer,
//! an actor reference is copied, a database handle is refused (N2301).

use crate::codes::N2301;
use crate::error::VmError;
use crate::heap::Heap;
use crate::native::Sendable;
use crate::value::{DictMap, Fields, Obj, SetMap, Value};
use noodle_nbc::Program;

/// An `Error` value crossing to another process (a failed task's error, raised again by
/// `await`), with the cause and the `Throwable` value it carries. Errors compare by their code,
/// message and trace, so any two of these are equal.
#[derive(Clone, Debug)]
pub struct Carried(pub Msg);

impl PartialEq for Carried {
    fn eq(&self, _: &Carried) -> bool {
        true
    }
}

/// A value in transit between heaps: owns all its data.
#[derive(Clone, Debug)]
pub enum Msg {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Func(u32),
    Str(Box<str>),
    Bytes(Box<[u8]>),
    List(Vec<Msg>),
    /// A list of bools, ints or floats, copied in its unboxed storage (never `List::Values`).
    Scalars(crate::list::List),
    Tuple(Vec<Msg>),
    Dict(Vec<(Msg, Msg)>),
    Set(Vec<Msg>),
    Record { ty: u16, fields: Vec<Msg> },
    /// A record whose fields (at most two) are all none, bools, numbers or functions, carried
    /// inline (`kinds` as in `flat_field`): the most common small message needs no allocation.
    Flat { ty: u16, n: u8, kinds: [u8; 2], bits: [u64; 2] },
    /// A native object that said how it crosses (`NativeObject::send`): a tensor view
    /// sharing its buffer, an actor reference.
    Native(std::sync::Arc<dyn Sendable>),
    /// A list, dict or set made with `any` elements (`Heap::is_dynamic`); its copy is too.
    Dynamic(Box<Msg>),
}

/// Deepest nesting `export` follows before giving up (a message that deep is almost certainly
/// a mistake, and recursion must stay bounded).
const MAX_DEPTH: usize = 10_000;

/// The most memory a message's copy may take, in bytes (about what it allocates: each
/// object's part, each element, the text of strings and bytes). Shared substructure is copied once per path, so a few dozen
/// objects that share their parts can stand for 2^40 copies: the budget refuses such a
/// message quickly (N2301) instead of exhausting memory.
pub const MAX_MESSAGE_BYTES: usize = 1 << 29;

/// Copies `v` out of `heap`. Closures, cells, database handles and tasks cannot leave their
/// actor (N2301). Shared substructure is copied once per path, like a deep copy; a cycle is
/// refused rather than followed forever, and a copy larger than `MAX_MESSAGE_BYTES` too.
pub fn export(heap: &Heap, program: &Program, v: Value) -> Result<Msg, VmError> {
    let mut path = Path::new();
    let mut left = MAX_MESSAGE_BYTES;
    export_in(heap, program, v, &mut path, &mut left)
}

/// The objects being copied, outermost first (a message is rarely nested deeper than this
/// inline part, so sending one allocates nothing for it).
type Path = smallvec::SmallVec<[u32; 8]>;

/// A scalar value as (kind, bits) for `Msg::Flat`; None for an object.
fn flat_field(v: Value) -> Option<(u8, u64)> {
    Some(match v {
        Value::None | Value::Undef => (0, 0),
        Value::Bool(b) => (1, b as u64),
        Value::Int(i) => (2, i as u64),
        Value::Float(f) => (3, f.to_bits()),
        Value::Func(f) => (4, f as u64),
        Value::Obj(_) => return None,
    })
}

fn unflat_field(kind: u8, bits: u64) -> Value {
    match kind {
        1 => Value::Bool(bits != 0),
        2 => Value::Int(bits as i64),
        3 => Value::Float(f64::from_bits(bits)),
        4 => Value::Func(bits as u32),
        _ => Value::None,
    }
}

/// `Msg::Flat` for a record of at most two scalar fields.
fn flat_record(ty: u16, fields: &[Value]) -> Option<Msg> {
    if fields.len() > 2 {
        return None;
    }
    let (mut kinds, mut bits) = ([0u8; 2], [0u64; 2]);
    for (i, f) in fields.iter().enumerate() {
        (kinds[i], bits[i]) = flat_field(*f)?;
    }
    Some(Msg::Flat { ty, n: fields.len() as u8, kinds, bits })
}

fn export_in(heap: &Heap, program: &Program, v: Value, path: &mut Path, left: &mut usize) -> Result<Msg, VmError> {
    let r = match v {
        Value::None | Value::Undef => return Ok(Msg::None),
        Value::Bool(b) => return Ok(Msg::Bool(b)),
        Value::Int(i) => return Ok(Msg::Int(i)),
        Value::Float(f) => return Ok(Msg::Float(f)),
        Value::Func(f) => return Ok(Msg::Func(f)),
        Value::Obj(r) => r,
    };
    if path.contains(&r.0) {
        return Err(VmError::new(N2301, "a message cannot contain a cycle (a value that contains itself)"));
    }
    if path.len() >= MAX_DEPTH {
        return Err(VmError::new(N2301, "a message is nested too deeply to send"));
    }
    // what the copy allocates: the value's own part and one `Msg` per element
    let size = 48 + match heap.get(r) {
        Obj::Str(s) => s.len(),
        Obj::Bytes(b) => b.len(),
        Obj::List(v) => if v.as_values().is_some() { 32 * v.len() } else { v.heap_bytes() },
        Obj::Tuple(v) | Obj::Record { fields: v, .. } => 32 * v.len(),
        Obj::Dict(m) => 64 * m.len(),
        Obj::Set(m) => 32 * m.len(),
        _ => 0,
    };
    *left = left.checked_sub(size).ok_or_else(|| {
        VmError::new(N2301, format!("a message is too large to send: copying it would take more than {} MiB (a value it reaches through several paths is copied once per path; send a tensor, whose buffer is shared, or smaller parts)", MAX_MESSAGE_BYTES >> 20))
    })?;
    if let Obj::Record { ty, fields } = heap.get(r) {
        if let Some(m) = flat_record(*ty, fields) {
            return Ok(m);
        }
    }
    path.push(r.0);
    let all = |vals: &[Value], path: &mut Path, left: &mut usize| -> Result<Vec<Msg>, VmError> { vals.iter().map(|x| export_in(heap, program, *x, path, left)).collect() };
    let m = match heap.get(r) {
        Obj::Str(s) => Msg::Str(s.as_ref().into()),
        Obj::Bytes(b) => Msg::Bytes(b.as_ref().into()),
        Obj::List(items) => match items.as_values() {
            Some(items) => Msg::List(all(items, path, left)?),
            None => Msg::Scalars(items.clone()),
        },
        Obj::Tuple(items) => Msg::Tuple(all(items, path, left)?),
        Obj::Record { ty, fields } => Msg::Record { ty: *ty, fields: all(fields, path, left)? },
        Obj::Dict(m) => {
            let mut out = Vec::with_capacity(m.len());
            for (k, v) in m.values() {
                out.push((export_in(heap, program, *k, path, left)?, export_in(heap, program, *v, path, left)?));
            }
            Msg::Dict(out)
        }
        Obj::Set(m) => Msg::Set(m.values().map(|x| export_in(heap, program, *x, path, left)).collect::<Result<_, _>>()?),
        Obj::Native(n) => Msg::Native(n.send(program)?.into()),
        other => {
            let what = match other {
                Obj::Closure { .. } => "closure (a function that captures variables)",
                Obj::Cell(_) => "variable cell",
                _ => "value",
            };
            return Err(VmError::new(N2301, format!("a {what} cannot be sent to another actor: only data (numbers, strings, collections, structs, enums, tensors, actor references) and functions that capture nothing can")));
        }
    };
    path.pop();
    Ok(if heap.is_dynamic(r) { Msg::Dynamic(Box::new(m)) } else { m })
}

/// Rebuilds a message in `heap`.
pub fn import(heap: &mut Heap, program: &Program, m: &Msg) -> Value {
    match m {
        Msg::None => Value::None,
        Msg::Bool(b) => Value::Bool(*b),
        Msg::Int(i) => Value::Int(*i),
        Msg::Float(f) => Value::Float(*f),
        Msg::Func(f) => Value::Func(*f),
        Msg::Dynamic(m) => {
            let v = import(heap, program, m);
            if let Value::Obj(r) = v {
                heap.set_dynamic(r);
            }
            v
        }
        Msg::Str(s) => heap.alloc_str(&**s),
        Msg::Bytes(b) => heap.alloc(Obj::Bytes(b.as_ref().into())),
        Msg::List(items) => {
            let v: Vec<Value> = items.iter().map(|x| import(heap, program, x)).collect();
            heap.alloc(Obj::List(v.into()))
        }
        Msg::Scalars(items) => heap.alloc(Obj::List(items.clone())),
        Msg::Tuple(items) => {
            let v: Fields = items.iter().map(|x| import(heap, program, x)).collect();
            heap.alloc(Obj::Tuple(v))
        }
        Msg::Record { ty, fields } => {
            let v: Fields = fields.iter().map(|x| import(heap, program, x)).collect();
            heap.alloc(Obj::Record { ty: *ty, fields: v })
        }
        Msg::Flat { ty, n, kinds, bits } => {
            let v: Fields = (0..*n as usize).map(|i| unflat_field(kinds[i], bits[i])).collect();
            heap.alloc(Obj::Record { ty: *ty, fields: v })
        }
        Msg::Dict(items) => {
            let mut map = DictMap::default();
            for (k, v) in items {
                let k = import(heap, program, k);
                let v = import(heap, program, v);
                map.insert(crate::ops::key_of(heap, program, k), (k, v));
            }
            heap.alloc(Obj::Dict(Box::new(map.into())))
        }
        Msg::Set(items) => {
            let mut set = SetMap::default();
            for x in items {
                let v = import(heap, program, x);
                set.insert(crate::ops::key_of(heap, program, v), v);
            }
            heap.alloc(Obj::Set(Box::new(set)))
        }
        Msg::Native(n) => heap.alloc(Obj::Native(n.receive())),
    }
}


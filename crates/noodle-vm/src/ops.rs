//! Value semantics shared by the interpreter and the natives: structural equality, ordering,
//! dict/set keys and truthiness.

use crate::codes::{N2011, N2015};
use crate::error::VmError;
use crate::heap::Heap;
use crate::value::{Key, Obj, ObjRef, Value};
use noodle_nbc::Program;
use std::cmp::Ordering;
use std::collections::HashSet;

/// 2^63 as a float: the first float above every `i64`.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Converts an integral float to an `i64` when it is exactly representable.
fn float_as_exact_int(f: f64) -> Option<i64> {
    if f.is_finite() && f.trunc() == f && (-TWO_63..TWO_63).contains(&f) {
        Some(f as i64)
    } else {
        None
    }
}

/// Exact `int == float` (no rounding of large ints).
fn int_float_eq(i: i64, f: f64) -> bool {
    float_as_exact_int(f) == Some(i)
}

/// Exact ordering of an int against a float; `None` when the float is NaN.
fn int_float_cmp(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // `t` is in range, so the conversion is exact.
    Some(match i.cmp(&(t as i64)) {
        Ordering::Equal => {
            if f > t {
                Ordering::Less
            } else if f < t {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    })
}

/// Is this record type an enum variant (compared by value) rather than a struct (by identity)?
pub fn is_variant(program: &Program, ty: u16) -> bool {
    program.types.get(ty as usize).is_some_and(|t| t.enum_name.is_some())
}

/// Are values of record type `ty` compared and hashed by their fields (an enum variant, or a
/// struct declared `: Eq`) rather than by identity?
pub fn by_value(program: &Program, ty: u16) -> bool {
    program.types.get(ty as usize).is_some_and(|t| t.enum_name.is_some() || t.flags & noodle_nbc::program::RECORD_BY_VALUE != 0)
}

enum Shallow {
    Equal,
    NotEqual,
    /// Two containers of the same kind and size whose elements still have to be compared.
    Deep(ObjRef, ObjRef),
}

fn shallow_eq(heap: &Heap, program: &Program, a: Value, b: Value) -> Shallow {
    use Shallow::*;
    let bool_ = |x: bool| if x { Equal } else { NotEqual };
    match (a, b) {
        (Value::None, Value::None) => Equal,
        (Value::Undef, Value::Undef) => Equal,
        (Value::Bool(x), Value::Bool(y)) => bool_(x == y),
        (Value::Int(x), Value::Int(y)) => bool_(x == y),
        (Value::Float(x), Value::Float(y)) => bool_(x == y),
        (Value::Int(i), Value::Float(f)) | (Value::Float(f), Value::Int(i)) => bool_(int_float_eq(i, f)),
        (Value::Func(x), Value::Func(y)) => bool_(x == y),
        (Value::Obj(x), Value::Obj(y)) => {
            if x == y {
                return Equal;
            }
            match (heap.get(x), heap.get(y)) {
                (Obj::Str(s), Obj::Str(t)) => bool_(s == t),
                (Obj::Native(p), Obj::Native(q)) => bool_(p.equals(&**q).unwrap_or(false)),
                (Obj::Bytes(s), Obj::Bytes(t)) => bool_(s == t),
                (Obj::List(p), Obj::List(q)) => {
                    if p.len() != q.len() {
                        NotEqual
                    } else {
                        Deep(x, y)
                    }
                }
                (Obj::Tuple(p), Obj::Tuple(q)) => {
                    if p.len() != q.len() {
                        NotEqual
                    } else {
                        Deep(x, y)
                    }
                }
                (Obj::Dict(p), Obj::Dict(q)) => {
                    if p.len() != q.len() {
                        NotEqual
                    } else {
                        Deep(x, y)
                    }
                }
                (Obj::Set(p), Obj::Set(q)) => bool_(p.len() == q.len() && p.keys().all(|k| q.contains_key(k))),
                (Obj::Record { ty: t, fields: p }, Obj::Record { ty: u, fields: q }) => {
                    if t != u || p.len() != q.len() || !by_value(program, *t) {
                        NotEqual
                    } else {
                        Deep(x, y)
                    }
                }
                (Obj::Cell(_), Obj::Cell(_)) => Deep(x, y),
                _ => NotEqual,
            }
        }
        _ => NotEqual,
    }
}

/// Structural equality: numbers by value (an int equals a float with the same value), strings and
/// bytes by content, lists and tuples elementwise, dicts and sets ignoring order, enum values by
/// variant and payload, structs, closures and functions by identity. Terminates on cyclic
/// structures (pairs already being compared are assumed equal).
pub fn values_equal(heap: &Heap, program: &Program, a: Value, b: Value) -> bool {
    let (x, y) = match shallow_eq(heap, program, a, b) {
        Shallow::Equal => return true,
        Shallow::NotEqual => return false,
        Shallow::Deep(x, y) => (x, y),
    };
    let mut work: Vec<(ObjRef, ObjRef)> = vec![(x, y)];
    let mut pending: Vec<(Value, Value)> = Vec::new();
    // Pairs already expanded; only recorded after a while, so small comparisons don't allocate
    // it. A cycle keeps revisiting the same pairs, so it is caught once recording starts.
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    let mut steps = 0usize;
    while let Some((x, y)) = work.pop() {
        steps += 1;
        if steps > 64 && !seen.insert((x.0, y.0)) {
            continue;
        }
        pending.clear();
        match (heap.get(x), heap.get(y)) {
            (Obj::List(p), Obj::List(q)) => {
                // unboxed lists of one kind compare as slices; nothing in them nests
                use crate::list::List;
                let same = match (p, q) {
                    (List::Bools(a), List::Bools(b)) => Some(a == b),
                    (List::Ints(a), List::Ints(b)) => Some(a == b),
                    (List::Floats(a), List::Floats(b)) => Some(a == b),
                    _ => None,
                };
                match same {
                    Some(false) => return false,
                    Some(true) => continue,
                    None => pending.extend(p.iter().zip(q.iter())),
                }
            }
            (Obj::Tuple(p), Obj::Tuple(q)) | (Obj::Record { fields: p, .. }, Obj::Record { fields: q, .. }) => {
                pending.extend(p.iter().copied().zip(q.iter().copied()))
            }
            (Obj::Dict(p), Obj::Dict(q)) => {
                for (k, (_, v)) in p.iter() {
                    match q.get(k) {
                        Some((_, w)) => pending.push((*v, *w)),
                        None => return false,
                    }
                }
            }
            (Obj::Cell(p), Obj::Cell(q)) => pending.push((*p, *q)),
            _ => return false,
        }
        // Compare the leaves now (fail fast); queue nested containers, first element on top.
        let start = work.len();
        for &(v, w) in pending.iter() {
            match shallow_eq(heap, program, v, w) {
                Shallow::Equal => {}
                Shallow::NotEqual => return false,
                Shallow::Deep(v, w) => work.push((v, w)),
            }
        }
        work[start..].reverse();
    }
    true
}

fn kind_name(heap: &Heap, v: Value) -> &'static str {
    match v {
        Value::None => "none",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Func(_) => "function",
        Value::Undef => "undefined",
        Value::Obj(r) => match heap.get(r) {
            Obj::Str(_) => "str",
            Obj::Bytes(_) => "bytes",
            Obj::List(_) => "list",
            Obj::Tuple(_) => "tuple",
            Obj::Dict(_) => "dict",
            Obj::Set(_) => "set",
            Obj::Record { .. } => "record",
            Obj::Closure { .. } => "function",
            Obj::Cell(_) => "cell",
            Obj::Native(n) => n.kind(),
        },
    }
}

const MAX_COMPARE_DEPTH: usize = 1000;

/// Ordering for `<`, `sort`, `min` and `max`: numbers (int and float mixed), strings (by code
/// point), bytes, bools, tuples and lists lexicographically, and values of one struct declared
/// `: Ord` by their fields in order. NaN and values of other kinds cannot be ordered (N2011).
pub fn compare(heap: &Heap, program: &Program, a: Value, b: Value) -> Result<Ordering, VmError> {
    compare_at(heap, program, a, b, 0)
}

fn cannot_order(heap: &Heap, program: &Program, a: Value, b: Value) -> VmError {
    let nan = |v: Value| matches!(v, Value::Float(f) if f.is_nan());
    // a struct or variant by its name (`Point`), other values by their kind
    let name = |v: Value| match v {
        Value::Obj(r) => match heap.get(r) {
            Obj::Record { ty, .. } => program.types.get(*ty as usize).map_or_else(|| "record".to_string(), |t| match &t.enum_name {
                Some(e) => format!("{e}.{}", t.name),
                None => t.name.clone(),
            }),
            _ => kind_name(heap, v).to_string(),
        },
        _ => kind_name(heap, v).to_string(),
    };
    if nan(a) || nan(b) {
        VmError::new(N2011, "cannot order nan")
    } else {
        VmError::new(N2011, format!("cannot order {} and {}", name(a), name(b)))
    }
}

fn compare_at(heap: &Heap, program: &Program, a: Value, b: Value, depth: usize) -> Result<Ordering, VmError> {
    let r = match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(&y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(&y),
        (Value::Int(i), Value::Float(f)) => int_float_cmp(i, f),
        (Value::Float(f), Value::Int(i)) => int_float_cmp(i, f).map(Ordering::reverse),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(&y)),
        (Value::Obj(x), Value::Obj(y)) => {
            let seq = |p: &mut dyn ExactSizeIterator<Item = Value>, q: &mut dyn ExactSizeIterator<Item = Value>| -> Result<Ordering, VmError> {
                if depth >= MAX_COMPARE_DEPTH {
                    return Err(VmError::new(N2011, "cannot order values nested this deeply"));
                }
                let lengths = p.len().cmp(&q.len());
                for (v, w) in p.zip(q) {
                    match compare_at(heap, program, v, w, depth + 1)? {
                        Ordering::Equal => {}
                        o => return Ok(o),
                    }
                }
                Ok(lengths)
            };
            match (heap.get(x), heap.get(y)) {
                (Obj::Str(s), Obj::Str(t)) => Some(s.as_bytes().cmp(t.as_bytes())),
                (Obj::Bytes(s), Obj::Bytes(t)) => Some(s[..].cmp(&t[..])),
                // element by element whatever the storage: no copy of an unboxed list
                (Obj::List(p), Obj::List(q)) => return seq(&mut p.iter(), &mut q.iter()),
                (Obj::Tuple(p), Obj::Tuple(q)) => return seq(&mut p.iter().copied(), &mut q.iter().copied()),
                (Obj::Record { ty: t, fields: p }, Obj::Record { ty: u, fields: q }) if t == u && program.types.get(*t as usize).is_some_and(|r| r.flags & noodle_nbc::program::RECORD_ORDERED != 0) => return seq(&mut p.iter().copied(), &mut q.iter().copied()),
                _ => None,
            }
        }
        _ => None,
    };
    r.ok_or_else(|| cannot_order(heap, program, a, b))
}

/// Canonical float key: -0.0 folded into 0.0, every NaN the same key.
fn float_key(f: f64) -> Key {
    if f == 0.0 {
        Key::Float(0f64.to_bits())
    } else if f.is_nan() {
        Key::Float(f64::NAN.to_bits())
    } else {
        Key::Float(f.to_bits())
    }
}

/// Pseudo record type numbers for keys of values that have no `Key` variant of their own.
const FUNC_KEY_TY: u16 = u16::MAX;
const UNDEF_KEY_TY: u16 = u16::MAX - 1;

enum KeyPart<'h> {
    Leaf(Key),
    /// A tuple (`None`) or enum variant (`Some(ty)`) whose elements need keys too.
    Compound(Option<u16>, &'h [Value]),
}

fn key_part<'h>(heap: &'h Heap, program: &Program, v: Value) -> KeyPart<'h> {
    KeyPart::Leaf(match v {
        Value::None => Key::None,
        Value::Bool(b) => Key::Bool(b),
        Value::Int(i) => Key::Int(i),
        Value::Float(f) => float_key(f),
        Value::Func(f) => Key::Variant(FUNC_KEY_TY, Box::new([Key::Int(f as i64)])),
        Value::Undef => Key::Variant(UNDEF_KEY_TY, Box::new([])),
        Value::Obj(r) => match heap.get(r) {
            Obj::Str(s) => Key::Str(s.clone()),
            Obj::Bytes(b) => Key::Bytes(b.clone()),
            Obj::Tuple(items) => return KeyPart::Compound(None, items),
            Obj::Record { ty, fields } if by_value(program, *ty) => return KeyPart::Compound(Some(*ty), fields),
            Obj::Native(n) => n.key().unwrap_or(Key::Ref(r.0)),
            Obj::List(_) | Obj::Dict(_) | Obj::Set(_) => Key::Unhashable,
            _ => Key::Ref(r.0),
        },
    })
}

/// How deeply tuples and enum values may nest in a dict key or set element.
pub const MAX_KEY_DEPTH: usize = 1000;

/// The key of a value about to be stored in a dict or set: N2011 for one nested too deeply.
pub fn storable_key(heap: &Heap, program: &Program, v: Value) -> Result<Key, VmError> {
    check_storable(key_of(heap, program, v))
}

/// `Ok(key)` unless it is the image of a value nested too deeply to be stored (N2011).
pub fn check_storable(key: Key) -> Result<Key, VmError> {
    match key {
        Key::TooDeep => Err(VmError::new(N2011, format!("a dict key or set element may nest tuples and enum values at most {MAX_KEY_DEPTH} levels deep"))),
        Key::Unhashable => Err(VmError::new(N2015, "a list, dict or set cannot be a dict key or set element")),
        k => Ok(k),
    }
}

/// The dict/set key of a value (`Key::TooDeep` past `MAX_KEY_DEPTH`). Tuples and enum values are keyed by content, other reference
/// objects (structs, lists, dicts, sets, closures) by identity. Iterative, so deeply nested keys
/// cannot overflow the stack.
pub fn key_of(heap: &Heap, program: &Program, v: Value) -> Key {
    struct Frame<'h> {
        variant: Option<u16>,
        items: &'h [Value],
        next: usize,
        keys: Vec<Key>,
    }
    fn frame(variant: Option<u16>, items: &[Value]) -> Frame<'_> {
        Frame { variant, items, next: 0, keys: Vec::with_capacity(items.len()) }
    }
    let mut stack = match key_part(heap, program, v) {
        KeyPart::Leaf(k) => return k,
        KeyPart::Compound(variant, items) => vec![frame(variant, items)],
    };
    if stack.len() > MAX_KEY_DEPTH {
        return Key::TooDeep;
    }
    loop {
        let Some(top) = stack.last_mut() else { return Key::None };
        if top.next < top.items.len() {
            let item = top.items[top.next];
            top.next += 1;
            match key_part(heap, program, item) {
                // an enum value's list payload is keyed by identity, as structs are (the checker
                // lets any enum be a key); elsewhere a list refuses the whole key
                // (a struct declared `Eq` has no list fields but through `any` or a type
                // parameter, and is then refused: its `==` compares the list's contents)
                KeyPart::Leaf(Key::Unhashable) if top.variant.is_some_and(|ty| is_variant(program, ty)) => top.keys.push(match item {
                    Value::Obj(r) => Key::Ref(r.0),
                    _ => Key::Unhashable,
                }),
                KeyPart::Leaf(Key::Unhashable) => return Key::Unhashable,
                KeyPart::Leaf(k) => top.keys.push(k),
                KeyPart::Compound(variant, items) => {
                    if stack.len() == MAX_KEY_DEPTH {
                        return Key::TooDeep;
                    }
                    stack.push(frame(variant, items))
                }
            }
        } else {
            let Some(done) = stack.pop() else { return Key::None };
            let key = match done.variant {
                Some(ty) => Key::Variant(ty, done.keys.into_boxed_slice()),
                None => Key::Tuple(done.keys.into_boxed_slice()),
            };
            match stack.last_mut() {
                Some(parent) => parent.keys.push(key),
                None => return key,
            }
        }
    }
}

/// Where `key`'s entry is in `d`, or `Err` with the key's image when it has none. The entry
/// last found or added is tried first, comparing the key in place (an int, or a string's
/// bytes); other keys, and a miss there, hash and probe as usual.
pub fn dict_position(heap: &Heap, program: &Program, d: &crate::value::Dict, key: Value) -> Result<usize, Key> {
    if let Some((image, i)) = d.last_entry() {
        let same = match (image, key) {
            (Key::Int(a), Value::Int(b)) => *a == b,
            (Key::Str(a), Value::Obj(r)) => matches!(heap.get(r), Obj::Str(b) if a == b),
            _ => false,
        };
        if same {
            return Ok(i);
        }
    }
    let i = key_position(heap, program, d, key)?;
    d.remember(i);
    Ok(i)
}

/// Where `key` is in the keys of a dict or set, or `Err` with the key's image when it is not
/// there.
pub fn key_position<V>(heap: &Heap, program: &Program, map: &indexmap::IndexMap<Key, V, crate::value::BuildHasher>, key: Value) -> Result<usize, Key> {
    match key {
        // a string is looked up by its text; its key is made only if it is missing
        Value::Obj(r) if let Obj::Str(s) = heap.get(r) => map.get_index_of(&crate::value::StrProbe(s)).ok_or_else(|| key_of(heap, program, key)),
        _ => {
            let image = key_of(heap, program, key);
            map.get_index_of(&image).ok_or(image)
        }
    }
}

/// What a dict stores as the key value of an entry. String keys store nothing (`Undef`): the
/// key image holds the text, so the dict does not keep a string object alive per entry; the
/// string is made again when a program asks for the keys.
pub fn stored_dict_key(image: &Key, k: Value) -> Value {
    match image {
        Key::Str(_) => Value::Undef,
        _ => k,
    }
}

/// The key value of a dict entry, making a string for string keys (see `stored_dict_key`).
pub fn dict_key_value(heap: &mut Heap, image: &Key, stored: Value) -> Value {
    match (stored, image) {
        (Value::Undef, Key::Str(s)) => heap.alloc(Obj::Str(s.clone())),
        _ => stored,
    }
}

/// Every key value of a dict, in order.
pub fn dict_keys(heap: &mut Heap, dict: crate::value::ObjRef) -> Vec<Value> {
    let entries: Vec<(Key, Value)> = match heap.get(dict) {
        Obj::Dict(m) => m.iter().map(|(img, (k, _))| (img.clone(), *k)).collect(),
        _ => return Vec::new(),
    };
    entries.into_iter().map(|(img, k)| dict_key_value(heap, &img, k)).collect()
}

/// Truthiness for `bool(x)`: false for none, false, 0, 0.0, NaN is true (as in Python), and
/// empty str, bytes, list, dict, set and tuple.
pub fn truthy(heap: &Heap, v: Value) -> bool {
    match v {
        Value::None | Value::Undef => false,
        Value::Bool(b) => b,
        Value::Int(i) => i != 0,
        Value::Float(f) => f != 0.0,
        Value::Func(_) => true,
        Value::Obj(r) => match heap.get(r) {
            Obj::Str(s) => !s.is_empty(),
            Obj::Bytes(b) => !b.is_empty(),
            Obj::List(v) => !v.is_empty(),
            Obj::Tuple(v) => !v.is_empty(),
            Obj::Dict(d) => !d.is_empty(),
            Obj::Set(s) => !s.is_empty(),
            Obj::Cell(v) => truthy(heap, *v),
            Obj::Record { .. } | Obj::Closure { .. } => true,
            Obj::Native(n) => n.truthy(),
        },
    }
}

/// The run-time type name of a value (`type_of`, cast errors).
pub fn type_name(heap: &Heap, program: &Program, v: Value) -> String {
    match v {
        Value::None => "none".into(),
        Value::Bool(_) => "bool".into(),
        Value::Int(_) => "int".into(),
        Value::Float(_) => "float".into(),
        Value::Func(_) => "function".into(),
        Value::Undef => "undefined".into(),
        Value::Obj(r) => match heap.get(r) {
            Obj::Str(_) => "str".into(),
            Obj::Bytes(_) => "bytes".into(),
            Obj::List(_) => "list".into(),
            Obj::Tuple(_) => "tuple".into(),
            Obj::Dict(_) => "dict".into(),
            Obj::Set(_) => "set".into(),
            Obj::Closure { .. } => "function".into(),
            Obj::Cell(v) => type_name(heap, program, *v),
            Obj::Native(n) => n.type_name(program),
            Obj::Record { ty, .. } => match program.types.get(*ty as usize) {
                Some(t) => t.enum_name.clone().unwrap_or_else(|| t.name.clone()),
                None => "record".into(),
            },
        },
    }
}


#[cfg(test)]
#[allow(clippy::approx_constant, clippy::excessive_precision)]
mod tests {
    use super::*;
    use noodle_nbc::RecordType;

    fn program() -> Program {
        let rt = |name: &str, en: Option<&str>, fields: &[&str]| RecordType {
            name: name.into(),
            enum_name: en.map(String::from),
            enum_id: if en.is_some() { 0 } else { u16::MAX },
            fields: fields.iter().map(|s| s.to_string()).collect(),
            methods: vec![],
            flags: 0,
        };
        Program {
            types: vec![
                rt("Error", None, &["code", "message"]),
                rt("Point", None, &["x", "y"]),
                rt("Circle", Some("Shape"), &["r"]),
                rt("Square", Some("Shape"), &["s"]),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn equality() {
        let p = program();
        let mut h = Heap::new();
        let s1 = h.alloc_str("abc");
        let s2 = h.alloc_str("abc");
        let s3 = h.alloc_str("abd");
        assert!(values_equal(&h, &p, s1, s2));
        assert!(!values_equal(&h, &p, s1, s3));
        assert!(values_equal(&h, &p, Value::Int(3), Value::Float(3.0)));
        assert!(!values_equal(&h, &p, Value::Int(i64::MAX), Value::Float(9.223372036854775807e18)));
        assert!(!values_equal(&h, &p, Value::Float(f64::NAN), Value::Float(f64::NAN)));
        assert!(values_equal(&h, &p, Value::None, Value::None));
        assert!(!values_equal(&h, &p, Value::None, Value::Int(0)));
        let l1 = h.alloc(Obj::List(vec![Value::Int(1), s1].into()));
        let l2 = h.alloc(Obj::List(vec![Value::Float(1.0), s2].into()));
        let l3 = h.alloc(Obj::List(vec![Value::Int(1), s3].into()));
        assert!(values_equal(&h, &p, l1, l2));
        assert!(!values_equal(&h, &p, l1, l3));
        let t1 = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(1), s1])));
        assert!(!values_equal(&h, &p, l1, t1));
        // records: variants by value, structs by identity
        let c1 = h.alloc(Obj::Record { ty: 2, fields: crate::value::Fields::from_slice(&[Value::Float(1.0)]) });
        let c2 = h.alloc(Obj::Record { ty: 2, fields: crate::value::Fields::from_slice(&[Value::Float(1.0)]) });
        let sq = h.alloc(Obj::Record { ty: 3, fields: crate::value::Fields::from_slice(&[Value::Float(1.0)]) });
        assert!(values_equal(&h, &p, c1, c2));
        assert!(!values_equal(&h, &p, c1, sq));
        let p1 = h.alloc(Obj::Record { ty: 1, fields: crate::value::Fields::from_slice(&[Value::Int(1), Value::Int(2)]) });
        let p2 = h.alloc(Obj::Record { ty: 1, fields: crate::value::Fields::from_slice(&[Value::Int(1), Value::Int(2)]) });
        assert!(!values_equal(&h, &p, p1, p2));
        assert!(values_equal(&h, &p, p1, p1));
        // dicts and sets ignore order
        let mk_dict = |h: &mut Heap, pairs: &[(i64, i64)]| {
            let m: crate::value::DictMap = pairs.iter().map(|&(k, v)| (Key::Int(k), (Value::Int(k), Value::Int(v)))).collect();
            h.alloc(Obj::Dict(Box::new(m.into())))
        };
        let d1 = mk_dict(&mut h, &[(1, 10), (2, 20)]);
        let d2 = mk_dict(&mut h, &[(2, 20), (1, 10)]);
        let d3 = mk_dict(&mut h, &[(2, 20), (1, 11)]);
        assert!(values_equal(&h, &p, d1, d2));
        assert!(!values_equal(&h, &p, d1, d3));
        let st1 = h.alloc(Obj::Set([1, 2].iter().map(|&i| (Key::Int(i), Value::Int(i))).collect::<crate::value::SetMap>().into()));
        let st2 = h.alloc(Obj::Set([2, 1].iter().map(|&i| (Key::Int(i), Value::Int(i))).collect::<crate::value::SetMap>().into()));
        assert!(values_equal(&h, &p, st1, st2));
        // functions by identity
        assert!(values_equal(&h, &p, Value::Func(1), Value::Func(1)));
        assert!(!values_equal(&h, &p, Value::Func(1), Value::Func(2)));
    }

    #[test]
    fn cyclic_and_deep_equality() {
        let p = program();
        let mut h = Heap::new();
        let a = h.alloc(Obj::List(vec![].into()));
        let b = h.alloc(Obj::List(vec![].into()));
        for (x, y) in [(a, a), (b, b)] {
            let Value::Obj(r) = x else { unreachable!() };
            if let Obj::List(v) = h.get_mut(r) {
                v.push(Value::Int(1));
                v.push(y);
            }
        }
        assert!(values_equal(&h, &p, a, b));
        // deep nesting does not overflow the stack
        let mut x = Value::None;
        let mut y = Value::None;
        for _ in 0..200_000 {
            x = h.alloc(Obj::Record { ty: 2, fields: crate::value::Fields::from_slice(&[x]) });
            y = h.alloc(Obj::Record { ty: 2, fields: crate::value::Fields::from_slice(&[y]) });
        }
        assert!(values_equal(&h, &p, x, y));
        // (`Key`'s derived traits recurse, so keep keys shallower)
        let mut x = Value::None;
        let mut y = Value::None;
        for _ in 0..1000 {
            x = h.alloc(Obj::Record { ty: 2, fields: crate::value::Fields::from_slice(&[x]) });
            y = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[y])));
        }
        assert!(key_of(&h, &p, x) == key_of(&h, &p, x));
        assert!(key_of(&h, &p, y) == key_of(&h, &p, y));
        assert!(key_of(&h, &p, x) != key_of(&h, &p, y));
    }

    #[test]
    fn ordering() {
        let mut p = program();
        let mut h = Heap::new();
        use Ordering::*;
        assert_eq!(compare(&h, &p, Value::Int(1), Value::Int(2)), Ok(Less));
        assert_eq!(compare(&h, &p, Value::Int(2), Value::Float(1.5)), Ok(Greater));
        assert_eq!(compare(&h, &p, Value::Float(1.5), Value::Int(2)), Ok(Less));
        assert_eq!(compare(&h, &p, Value::Int(-1), Value::Float(-1.5)), Ok(Greater));
        assert_eq!(compare(&h, &p, Value::Int(i64::MAX), Value::Float(9.223372036854775807e18)), Ok(Less));
        assert_eq!(compare(&h, &p, Value::Int(3), Value::Float(3.0)), Ok(Equal));
        assert_eq!(compare(&h, &p, Value::Bool(false), Value::Bool(true)), Ok(Less));
        assert_eq!(compare(&h, &p, Value::Float(f64::NAN), Value::Float(1.0)).unwrap_err().code, "N2011");
        assert_eq!(compare(&h, &p, Value::None, Value::None).unwrap_err().code, "N2011");
        let a = h.alloc_str("apple");
        let b = h.alloc_str("banana");
        let e = h.alloc_str("é");
        let z = h.alloc_str("z");
        assert_eq!(compare(&h, &p, a, b), Ok(Less));
        assert_eq!(compare(&h, &p, e, z), Ok(Greater));
        let t1 = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(1), a])));
        let t2 = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(1), b])));
        let t3 = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(1)])));
        assert_eq!(compare(&h, &p, t1, t2), Ok(Less));
        assert_eq!(compare(&h, &p, t3, t1), Ok(Less));
        let l1 = h.alloc(Obj::List(vec![Value::Int(1), Value::Int(2)].into()));
        let l2 = h.alloc(Obj::List(vec![Value::Int(1), Value::Int(3)].into()));
        assert_eq!(compare(&h, &p, l2, l1), Ok(Greater));
        assert!(compare(&h, &p, l1, t1).is_err());
        // a cyclic list errors instead of overflowing the stack
        let c = h.alloc(Obj::List(vec![].into()));
        let Value::Obj(r) = c else { unreachable!() };
        if let Obj::List(v) = h.get_mut(r) {
            v.push(c);
        }
        assert!(compare(&h, &p, c, c).is_err());
        // records: only those of one type with the ordered flag, by their fields in order
        let pt = |h: &mut Heap, x: i64, y: i64| h.alloc(Obj::Record { ty: 1, fields: crate::value::Fields::from_slice(&[Value::Int(x), Value::Int(y)]) });
        let (p12, p21) = (pt(&mut h, 1, 2), pt(&mut h, 2, 1));
        assert!(compare(&h, &p, p12, p21).is_err());
        p.types[1].flags = noodle_nbc::program::RECORD_ORDERED | noodle_nbc::program::RECORD_BY_VALUE;
        assert_eq!(compare(&h, &p, p12, p21), Ok(Less));
        let (p20, q12) = (pt(&mut h, 2, 0), pt(&mut h, 1, 2));
        assert_eq!(compare(&h, &p, p21, p20), Ok(Greater));
        assert!(values_equal(&h, &p, p12, q12));
        assert_eq!(key_of(&h, &p, p12), key_of(&h, &p, q12));
    }

    #[test]
    fn keys_and_truthiness() {
        let p = program();
        let mut h = Heap::new();
        assert_eq!(key_of(&h, &p, Value::Float(-0.0)), key_of(&h, &p, Value::Float(0.0)));
        assert_eq!(key_of(&h, &p, Value::Float(f64::NAN)), key_of(&h, &p, Value::Float(-f64::NAN)));
        let s1 = h.alloc_str("k");
        let s2 = h.alloc_str("k");
        assert_eq!(key_of(&h, &p, s1), key_of(&h, &p, s2));
        let t1 = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(1), s1])));
        let t2 = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(1), s2])));
        assert_eq!(key_of(&h, &p, t1), key_of(&h, &p, t2));
        let c1 = h.alloc(Obj::Record { ty: 2, fields: crate::value::Fields::from_slice(&[t1]) });
        let c2 = h.alloc(Obj::Record { ty: 2, fields: crate::value::Fields::from_slice(&[t2]) });
        assert_eq!(key_of(&h, &p, c1), key_of(&h, &p, c2));
        let p1 = h.alloc(Obj::Record { ty: 1, fields: crate::value::Fields::from_slice(&[]) });
        let p2 = h.alloc(Obj::Record { ty: 1, fields: crate::value::Fields::from_slice(&[]) });
        assert_ne!(key_of(&h, &p, p1), key_of(&h, &p, p2));
        assert_ne!(key_of(&h, &p, Value::Func(0)), key_of(&h, &p, Value::Func(1)));
        // a list, alone or inside a tuple, is never a key
        let l = h.alloc(Obj::List(vec![Value::Int(1)].into()));
        assert_eq!(key_of(&h, &p, l), Key::Unhashable);
        let tl = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(1), l])));
        assert_eq!(key_of(&h, &p, tl), Key::Unhashable);
        assert!(storable_key(&h, &p, tl).is_err());

        assert!(!truthy(&h, Value::None));
        assert!(!truthy(&h, Value::Int(0)));
        assert!(truthy(&h, Value::Int(-1)));
        assert!(!truthy(&h, Value::Float(0.0)));
        assert!(!truthy(&h, Value::Float(-0.0)));
        assert!(truthy(&h, Value::Float(f64::NAN)));
        let e = h.alloc_str("");
        assert!(!truthy(&h, e));
        assert!(truthy(&h, s1));
        let el = h.alloc(Obj::List(vec![].into()));
        assert!(!truthy(&h, el));
        assert!(truthy(&h, p1));
    }
}

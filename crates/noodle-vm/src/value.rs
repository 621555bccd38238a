//! Run-time values. A `Value` is 16 bytes and `Copy`: scalars inline, everything else a handle
//! into the owning heap. No reference counting on the hot path.

use indexmap::IndexMap;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObjRef(pub u32);

/// `repr(u8)` fixes the layout that `vm::fresh` copies piece by piece: the tag in byte 0, a
/// bool at byte 1, a handle or function index at bytes 4..8, an int or float at bytes 8..16.
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
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

/// A hashable image of a value, used as the key of dicts and sets. A string's key is its `Text`:
/// short ones copied (22 bytes), long ones sharing the string object's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    None,
    Bool(bool),
    Int(i64),
    /// Float bits, with -0.0 folded into 0.0.
    Float(u64),
    Str(Text),
    Bytes(Rc<[u8]>),
    Tuple(Box<[Key]>),
    /// An enum value: by variant and payload.
    Variant(u16, Box<[Key]>),
    /// A struct or other reference object: by identity.
    Ref(u32),
    /// A native object keyed by what it refers to (`NativeObject::key`): a kind name and an id
    /// (an actor reference seen from two heaps is one key).
    Native(&'static str, u64),
    /// The image of a tuple or enum value nested more than `ops::MAX_KEY_DEPTH` levels deep:
    /// never stored (adding one is N2011), so looking one up finds nothing. Keys stay shallow
    /// enough that hashing, comparing and dropping them (all recursive) cannot overflow.
    TooDeep,
    /// The image of a list, dict or set (reached through `any`): never stored (adding one is
    /// N2015, as its contents could change under the key), so looking one up finds nothing.
    Unhashable,
}

/// One write per scalar key, and no variant tag: a dict's keys nearly always share one type
/// (its key type), so leaving the tag out costs no collisions in practice, and equality still
/// tells the variants apart. Every hashing round counted: a lookup hashed its key in three.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Key::None => state.write_u8(0),
            Key::Bool(b) => state.write_u8(*b as u8 + 1),
            Key::Int(i) => state.write_i64(*i),
            Key::Float(bits) => state.write_u64(*bits),
            Key::Str(s) => s.hash(state),
            Key::Bytes(b) => {
                state.write_usize(b.len());
                state.write(b);
            }
            Key::Tuple(items) => {
                state.write_usize(items.len());
                items.iter().for_each(|k| k.hash(state));
            }
            Key::Variant(ty, items) => {
                state.write_u16(*ty);
                state.write_usize(items.len());
                items.iter().for_each(|k| k.hash(state));
            }
            Key::Ref(r) => state.write_u32(*r),
            Key::Native(kind, id) => {
                state.write(kind.as_bytes());
                state.write_u64(*id)
            }
            Key::TooDeep => state.write_u8(0xfe),
            Key::Unhashable => state.write_u8(0xfd),
        }
    }
}

/// A string's text, to look up a `Key::Str` without cloning it into a key: it hashes as the
/// key does and compares with it in place.
pub struct StrProbe<'a>(pub &'a Text);

impl std::hash::Hash for StrProbe<'_> {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        hash_str(self.0.as_bytes(), state)
    }
}

impl indexmap::Equivalent<Key> for StrProbe<'_> {
    #[inline]
    fn equivalent(&self, key: &Key) -> bool {
        matches!(key, Key::Str(k) if k == self.0)
    }
}

/// As `str` hashes: its bytes, then 0xff, which no UTF-8 text contains, so the strings in a
/// tuple key cannot run into each other.
#[inline]
fn hash_str<H: std::hash::Hasher>(bytes: &[u8], state: &mut H) {
    state.write(bytes);
    state.write_u8(0xff);
}

/// Fast keyed hashing with a per-process random seed (foldhash, as hashbrown uses).
pub type BuildHasher = foldhash::fast::RandomState;
/// key image -> (key value, value), in insertion order.
pub type DictMap = IndexMap<Key, (Value, Value), BuildHasher>;
/// key image -> element value, in insertion order.
pub type SetMap = IndexMap<Key, Value, BuildHasher>;

/// A dict: its entries, and the position of the entry last found or added. Counting
/// (`d[k] = d.get(k, 0) + 1`, `if k in d { d[k] += 1 }`) touches one key twice in a row; the
/// second access compares the key with that entry instead of hashing and probing again
/// (`ops::dict_position`). The key found there is always compared, so a position made stale by
/// a removal or a sort costs a miss, never a wrong entry.
#[derive(Default)]
pub struct Dict {
    map: DictMap,
    last: std::cell::Cell<usize>,
}

impl Dict {
    /// The entry last found or added, and its position.
    #[inline]
    pub fn last_entry(&self) -> Option<(&Key, usize)> {
        let i = self.last.get();
        self.map.get_index(i).map(|(k, _)| (k, i))
    }

    /// Remembers a position found by a lookup.
    #[inline]
    pub fn remember(&self, i: usize) {
        self.last.set(i);
    }

    /// Sets the value at a position (found by `ops::dict_position`); entries do not move.
    #[inline]
    pub fn set_at(&mut self, i: usize, v: Value) {
        if let Some((_, e)) = self.map.get_index_mut(i) {
            e.1 = v;
        }
    }

    /// Adds an entry for a key it does not have; false (and nothing added) when the memory
    /// to grow the dict cannot be had.
    pub fn add(&mut self, image: Key, stored: Value, v: Value) -> bool {
        if self.map.len() == self.map.capacity() && !grow(&mut self.map) {
            return false;
        }
        let (i, _) = self.map.insert_full(image, (stored, v));
        self.last.set(i);
        true
    }
}

/// Makes room in a full dict or set without aborting (doubling, or an eighth more near the
/// memory limit); false when it cannot.
pub fn grow<V>(map: &mut IndexMap<Key, V, BuildHasher>) -> bool {
    let n = map.len();
    map.try_reserve(n.max(4)).is_ok() || map.try_reserve_exact((n / 8).max(1)).is_ok()
}

impl Dict {
}

impl From<DictMap> for Dict {
    fn from(map: DictMap) -> Dict {
        Dict { map, last: std::cell::Cell::new(0) }
    }
}

impl std::ops::Deref for Dict {
    type Target = DictMap;
    #[inline]
    fn deref(&self) -> &DictMap {
        &self.map
    }
}

impl std::ops::DerefMut for Dict {
    #[inline]
    fn deref_mut(&mut self) -> &mut DictMap {
        &mut self.map
    }
}

/// Bytes a string can hold in place, in its heap slot or in a dict key.
pub const INLINE_STR: usize = 22;

/// The text of a string object, and of a string dict key (`Key::Str`). Short strings (most
/// that programs build: words, keys, numbers) are stored in the heap slot itself, so making one
/// costs no `malloc` and freeing one no `free`, and in the key itself, so a lookup compares
/// bytes in the table entry instead of following a pointer; longer ones share a
/// reference-counted buffer, and the key shares it with the string object.
#[derive(Clone)]
pub enum Text {
    /// The bytes past `len` are zero (equality relies on it): make these only with `Text::from`.
    Inline { len: u8, bytes: [u8; INLINE_STR] },
    Shared(Rc<str>),
}

impl Text {
    #[inline]
    pub fn as_str(&self) -> &str {
        match self {
            // SAFETY: inline bytes are only ever copied from a `&str` (see `From<&str>`), whole
            Text::Inline { len, bytes } => unsafe { std::str::from_utf8_unchecked(bytes.get_unchecked(..*len as usize)) },
            Text::Shared(s) => s,
        }
    }

    /// The text as a shared buffer (copied once if it is inline).
    pub fn to_rc(&self) -> Rc<str> {
        match self {
            Text::Inline { .. } => Rc::from(self.as_str()),
            Text::Shared(s) => s.clone(),
        }
    }

    /// Bytes owned outside the heap slot.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Text::Inline { .. } => 0,
            Text::Shared(s) => s.len() + 16,
        }
    }

    /// An inline text from bytes already zero past `len`, without copying them again (a
    /// string built in place, see the interpreter's `StrBuf`).
    ///
    /// # Safety
    /// `bytes[..len]` must be UTF-8 and `bytes[len..]` zero, with `len <= INLINE_STR`.
    #[inline]
    pub unsafe fn from_padded(bytes: [u8; INLINE_STR], len: usize) -> Text {
        debug_assert!(len <= INLINE_STR && bytes[len..].iter().all(|&b| b == 0) && std::str::from_utf8(&bytes[..len]).is_ok());
        Text::Inline { len: len as u8, bytes }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    #[inline]
    fn eq(&self, other: &Text) -> bool {
        match (self, other) {
            // the bytes past `len` are zero in both, so whole arrays compare, without a call to
            // memcmp
            (Text::Inline { len: a, bytes: x }, Text::Inline { len: b, bytes: y }) => a == b && x == y,
            _ => self.as_bytes() == other.as_bytes(),
        }
    }
}
impl Eq for Text {}

impl std::hash::Hash for Text {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        hash_str(self.as_bytes(), state)
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for Text {
    #[inline]
    fn from(s: &str) -> Text {
        if s.len() <= INLINE_STR {
            let mut bytes = [0u8; INLINE_STR];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Text::Inline { len: s.len() as u8, bytes }
        } else {
            Text::Shared(Rc::from(s))
        }
    }
}

impl Text {
    /// `Text::from(s)`, or None when the memory for a copy of `s` cannot be had. A long text
    /// is copied into its shared buffer, and that allocation cannot fail softly, so for a
    /// large one (over 1 MiB: only those can fail while the process can still go on) the same
    /// size is asked for first, fallibly.
    pub fn try_from_str(s: &str) -> Option<Text> {
        if s.len() > 1 << 20 {
            let mut probe: Vec<u8> = Vec::new();
            probe.try_reserve_exact(s.len() + 2 * std::mem::size_of::<usize>()).ok()?;
        }
        Some(Text::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.len() <= INLINE_STR {
            Text::from(s.as_str())
        } else {
            Text::Shared(Rc::from(s))
        }
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::from(s.as_str())
    }
}

impl From<Rc<str>> for Text {
    /// Keeps sharing the buffer: no copy.
    fn from(s: Rc<str>) -> Text {
        Text::Shared(s)
    }
}

/// Tuple elements and record fields: up to two are stored inline in the heap slot, so a small
/// struct or pair costs no separate allocation.
pub type Fields = smallvec::SmallVec<[Value; 2]>;

/// What a heap slot counts for in `Obj::approx_bytes`.
const SLOT_BYTES: usize = 32;

pub enum Obj {
    Str(Text),
    Bytes(Rc<[u8]>),
    /// Unboxed when its elements are all bools, all ints or all floats (see `list`).
    List(crate::list::List),
    Tuple(Fields),
    /// Boxed so that `Obj` (and every heap slot) stays small.
    Dict(Box<Dict>),
    Set(Box<SetMap>),
    /// A struct instance or an enum variant (`ty` indexes `Program::types`).
    Record { ty: u16, fields: Fields },
    Closure { func: u32, captures: Box<[Value]> },
    /// A mutable variable shared between a scope and its closures.
    Cell(Value),
    /// A value owned by a native module (a tensor view, a database handle, an actor
    /// reference, a task), reached only through its trait.
    Native(crate::native::NativeBox),
}

impl Obj {
    /// True when the object owns no memory beyond its heap slot, so freeing it needs no drop
    /// code: short strings, small records and tuples (the commonest garbage) and cells.
    #[inline]
    pub fn is_plain(&self) -> bool {
        self.plain_bytes().is_some()
    }

    /// A plain object's approximate bytes (see `is_plain`), or None for the others. Inlined
    /// where an object is made, it folds to a constant for the kind being made.
    #[inline(always)]
    pub fn plain_bytes(&self) -> Option<usize> {
        match self {
            Obj::Record { fields, .. } | Obj::Tuple(fields) if !fields.spilled() => Some(SLOT_BYTES),
            Obj::Str(Text::Inline { .. }) | Obj::Cell(_) => Some(SLOT_BYTES),
            _ => None,
        }
    }

    /// Approximate heap bytes owned by this object (for collection pacing). The plain ones
    /// (small records and tuples, short strings) are answered inline: the collector asks for
    /// every object it marks.
    #[inline(always)]
    pub fn approx_bytes(&self) -> usize {
        match self.plain_bytes() {
            Some(n) => n,
            None => SLOT_BYTES + self.owned_bytes(),
        }
    }

    /// Bytes owned outside the heap slot.
    fn owned_bytes(&self) -> usize {
        match self {
            Obj::Str(s) => s.heap_bytes(),
            Obj::Bytes(b) => b.len() + 16,
            Obj::List(v) => v.heap_bytes(),
            Obj::Tuple(v) | Obj::Record { fields: v, .. } => if v.spilled() { v.len() * 16 } else { 0 },
            Obj::Closure { captures: v, .. } => v.len() * 16,
            Obj::Dict(m) => m.capacity() * 72,
            Obj::Set(m) => m.capacity() * 56,
            Obj::Cell(_) => 0,
            Obj::Native(n) => n.owned_bytes(),
        }
    }

    /// Calls `found` with every object this one refers to (for the collector).
    #[inline]
    pub fn trace(&self, mut found: impl FnMut(ObjRef)) {
        let mut push = |v: &Value| {
            if let Value::Obj(r) = v {
                found(*r)
            }
        };
        match self {
            Obj::Str(_) | Obj::Bytes(_) => {}
            Obj::List(v) => v.as_values().unwrap_or_default().iter().for_each(&mut push),
            Obj::Tuple(v) | Obj::Record { fields: v, .. } => v.iter().for_each(&mut push),
            Obj::Closure { captures: v, .. } => v.iter().for_each(&mut push),
            Obj::Dict(m) => m.values().for_each(|(k, v)| {
                push(k);
                push(v)
            }),
            Obj::Set(m) => m.values().for_each(&mut push),
            Obj::Cell(v) => push(v),
            Obj::Native(n) => n.trace(&mut found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn short_text_is_inline_and_long_text_shared() {
        for s in ["", "w12345", "ünïcödé", "exactly twenty-two b.", "exactly twenty-two by"] {
            let t = Text::from(s);
            assert_eq!(t.as_str(), s);
            assert_eq!(matches!(t, Text::Inline { .. }), s.len() <= INLINE_STR, "{s:?}");
        }
        let long = "twenty-three bytes long";
        assert_eq!(long.len(), 23);
        assert!(matches!(Text::from(long), Text::Shared(_)));
        assert!(matches!(Text::from(long.to_string()), Text::Shared(_)));
        // equal by text whatever the storage, and so are their dict keys
        let shared = Text::from(Rc::<str>::from("w1"));
        assert!(matches!(shared, Text::Shared(_)));
        assert_eq!(shared, Text::from("w1"));
        let h = |k: &Text| foldhash::fast::FixedState::with_seed(1).hash_one(k);
        assert_eq!(h(&shared), h(&Text::from("w1")));
    }

    #[test]
    fn a_string_probe_finds_its_key() {
        let mut m: DictMap = DictMap::default();
        for s in ["", "a", "w12345", "a string too long to be stored inline"] {
            let k = Key::Str(Text::from(s));
            let hasher = m.hasher();
            assert_eq!(hasher.hash_one(&k), hasher.hash_one(StrProbe(&Text::from(s))), "{s:?}");
            m.insert(k, (Value::Undef, Value::Int(s.len() as i64)));
        }
        let probe = |s: &str| m.get_index_of(&StrProbe(&Text::from(s)));
        assert_eq!(probe("w12345"), Some(2));
        assert_eq!(probe("a string too long to be stored inline"), Some(3));
        assert_eq!(probe("w1234"), None);
        assert_eq!(probe("w123456"), None);
        // a short text held in a shared buffer finds its inline key
        assert_eq!(m.get_index_of(&StrProbe(&Text::from(Rc::<str>::from("w12345")))), Some(2));
        // keys of other kinds with the same hash input are not the string
        m.insert(Key::Bytes(Rc::from(&b"a"[..])), (Value::None, Value::None));
        assert_eq!(m.get_index_of(&StrProbe(&Text::from("a"))), Some(1));
        // strings in tuples do not run into each other
        let t = |a: &str, b: &str| Key::Tuple(Box::new([Key::Str(a.into()), Key::Str(b.into())]));
        assert_ne!(t("ab", "c"), t("a", "bc"));
        let hasher = m.hasher();
        assert_ne!(hasher.hash_one(t("ab", "c")), hasher.hash_one(t("a", "bc")));
    }

    #[test]
    fn strings_do_not_make_heap_slots_bigger() {
        assert_eq!(std::mem::size_of::<Text>(), 24);
        assert_eq!(std::mem::size_of::<Option<Obj>>(), 48);
        assert!(Obj::Str(Text::from("short")).is_plain());
        assert!(!Obj::Str(Text::from("a string too long to be stored inline")).is_plain());
    }
}

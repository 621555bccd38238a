//! A heap of objects with a generational mark-and-sweep collector. Each VM (and later each
//! actor) owns one heap, collected independently; objects never move, so an `ObjRef` stays valid
//! while the object is reachable. Cycles are collected like everything else.
//!
//! Generations without moving: an object that survives a collection is marked old. A minor
//! collection marks and sweeps only the young objects (those allocated since the last
//! collection); old objects count as reachable. An old object can come to refer to a young one
//! only by being changed, and every change goes through `get_mut`, which records the old
//! object (the write barrier) so that the next minor collection traces it. A full collection
//! runs when the old generation has grown to twice what was live after the last one, and frees
//! the old objects that have died since.

use crate::value::{Obj, ObjRef, Text, Value};

/// Per-slot flags (`Heap::meta`).
const MARK: u8 = 1;
/// Survived a collection.
const OLD: u8 = 2;
/// Old, changed since the last collection, and in `Heap::touched`.
const TOUCHED: u8 = 4;
/// Owns no memory beyond its slot (a small record or tuple, a cell): freed without running its
/// drop code, and without the sweep reading the slot at all.
const PLAIN: u8 = 8;
/// On the free list. Its slot holds `None` or a dead plain object.
const FREE: u8 = 16;
/// `get_mut` has work to do: the object is plain, or old and not yet touched. One bit, so the
/// barrier costs one test on the common path.
const WATCH: u8 = 32;
/// A list, set or dict made as a `list[any]`, `set[any]` or `dict[any, any]`: values of any
/// type may be stored in it through those types. One made with a specific element type (a
/// `list[int]` seen as `list[any]` through a cast) has this bit clear, and such stores are
/// refused (N2016), so typed code never reads a value of the wrong type from it.
const DYNAMIC: u8 = 64;

pub struct Heap {
    slots: Vec<Option<Obj>>,
    /// One byte of flags per slot. The sweeps read these, not the slots, so garbage that owns
    /// no memory is never brought back into the cache until its slot is reused.
    meta: Vec<u8>,
    free: Vec<u32>,
    /// Slots allocated since the last collection: what a minor collection sweeps.
    young: Vec<u32>,
    /// Old objects changed since the last collection: roots of a minor collection.
    touched: Vec<u32>,
    /// Approximate bytes allocated since the last collection.
    allocated: usize,
    /// Collect when `allocated` reaches this: half the old generation, at least 256 KiB, so
    /// that tracing the old objects a program keeps changing costs a fixed share of its
    /// allocation however large they grow.
    nursery: usize,
    /// Approximate bytes of the old generation: what was live after the last full collection,
    /// plus what minor collections have promoted since.
    old_bytes: usize,
    /// Collect fully when `old_bytes` reaches this: twice what was live after the last full
    /// collection (as with Lua's default pause), at least 512 KiB.
    full_at: usize,
    pub collections: usize,
    pub full_collections: usize,
}

const MIN_NURSERY: usize = 256 << 10;

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

impl Heap {
    pub fn new() -> Heap {
        Heap {
            slots: Vec::new(),
            meta: Vec::new(),
            free: Vec::new(),
            young: Vec::new(),
            touched: Vec::new(),
            allocated: 0,
            nursery: MIN_NURSERY,
            old_bytes: 0,
            full_at: 2 * MIN_NURSERY,
            collections: 0,
            full_collections: 0,
        }
    }

    #[inline(always)]
    pub fn alloc(&mut self, obj: Obj) -> Value {
        Value::Obj(self.alloc_ref(obj))
    }

    /// `alloc`, returning the handle alone: a `u32` comes back in a register, where a `Value`
    /// came back through memory written in two parts, and the interpreter's 16-byte read of it
    /// stalled on every allocation.
    #[inline(never)]
    pub fn alloc_ref(&mut self, obj: Obj) -> ObjRef {
        self.alloc_inline(obj)
    }

    /// `alloc_ref` inlined, for the interpreter's own allocations (records, tuples). Inlined,
    /// the object is built straight into its slot and its size and kind are known constants;
    /// passed to a call, it was built on the stack and read back before it was written, and
    /// the read stalled on the writes just made.
    #[inline(always)]
    pub fn alloc_inline(&mut self, obj: Obj) -> ObjRef {
        self.alloc_with(|| obj)
    }

    /// Allocates the object that `make` builds, calling it once the slot is found, so that
    /// what it reads (the interpreter's registers) goes straight into the slot: read before
    /// the free list and the slot's bounds were looked at, the values were kept on the stack
    /// across that code and copied twice.
    #[inline(always)]
    pub fn alloc_with(&mut self, make: impl FnOnce() -> Obj) -> ObjRef {
        let i = match self.free.pop() {
            Some(i) => i,
            None => self.push_slot(),
        };
        // SAFETY: `i` came from the free list or was just pushed, so it indexes both vectors
        let (slot, meta) = unsafe { (self.slots.get_unchecked_mut(i as usize), self.meta.get_unchecked_mut(i as usize)) };
        let obj = make();
        // a plain object's size folds to a constant here, where its kind is known; the others
        // are sized from the slot, after it is written: asked before, the object was built on
        // the stack (the question is a call that needs its address) and copied, and the copy's
        // 16-byte reads stalled on the 8-byte writes that built it (17% of binary_trees), while
        // asked from the slot for every object, the question was a jump on the slot's kind
        let plain = obj.plain_bytes();
        // SAFETY: a free slot holds `None` or a dead plain object (see `release`), and a new
        // one `None`; neither owns memory, so overwriting it without dropping leaks nothing
        unsafe { std::ptr::write(slot, Some(obj)) };
        let (bytes, flags) = match plain {
            Some(n) => (n, PLAIN | WATCH),
            // SAFETY: just written
            None => (unsafe { slot.as_ref().unwrap_unchecked() }.approx_bytes(), 0),
        };
        self.allocated += bytes;
        *meta = flags;
        self.young.push(i);
        ObjRef(i)
    }

    /// A new empty slot at the end.
    #[inline(never)]
    fn push_slot(&mut self) -> u32 {
        if self.slots.capacity() == 0 {
            // an actor's heap often holds just its state: do not start at four slots
            self.slots.reserve_exact(1);
            self.meta.reserve_exact(1);
        }
        self.slots.push(None);
        self.meta.push(0);
        (self.slots.len() - 1) as u32
    }

    pub fn alloc_str(&mut self, s: impl Into<Text>) -> Value {
        self.alloc(Obj::Str(s.into()))
    }

    /// True when enough has been allocated that the VM should collect at its next safe point.
    #[inline]
    pub fn wants_gc(&self) -> bool {
        self.allocated >= self.nursery
    }

    #[inline]
    pub fn get(&self, r: ObjRef) -> &Obj {
        // Handles come only from this heap and live objects are never freed, so the slot exists.
        self.slots[r.0 as usize].as_ref().expect("dangling object reference")
    }

    /// Marks a container as made with `any` elements (see `DYNAMIC`).
    #[inline]
    pub fn set_dynamic(&mut self, r: ObjRef) {
        self.meta[r.0 as usize] |= DYNAMIC;
    }

    /// Was this container made with `any` elements (see `DYNAMIC`)?
    #[inline]
    pub fn is_dynamic(&self, r: ObjRef) -> bool {
        self.meta[r.0 as usize] & DYNAMIC != 0
    }

    /// The object, to change. This is the collector's write barrier: every change to an object
    /// comes through here (the slots are private), so an old object that may now refer to
    /// young ones is recorded for the next minor collection.
    #[inline]
    pub fn get_mut(&mut self, r: ObjRef) -> &mut Obj {
        let i = r.0 as usize;
        if self.meta[i] & WATCH != 0 {
            self.touch(i);
        }
        self.slots[i].as_mut().expect("dangling object reference")
    }

    /// The native object of type `T` that `v` refers to, if it is one.
    pub fn native<T: crate::native::NativeObject>(&self, v: Value) -> Option<&T> {
        match v {
            Value::Obj(r) => match self.get(r) {
                Obj::Native(n) => n.downcast_ref::<T>(),
                _ => None,
            },
            _ => None,
        }
    }

    /// `native`, to change it (through the write barrier).
    pub fn native_mut<T: crate::native::NativeObject>(&mut self, v: Value) -> Option<&mut T> {
        match v {
            Value::Obj(r) => match self.get_mut(r) {
                Obj::Native(n) => n.downcast_mut::<T>(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Calls `f` with the native object in slot `r` taken out of the heap, so that `f` may
    /// allocate (iterating a tensor makes its rows); the object is put back afterwards. None
    /// when the slot holds no native object.
    pub fn with_native<T>(&mut self, r: ObjRef, f: impl FnOnce(&dyn crate::native::NativeObject, &mut Heap) -> T) -> Option<T> {
        let slot = self.slots.get_mut(r.0 as usize)?;
        if !matches!(slot, Some(Obj::Native(_))) {
            return None;
        }
        // a cell stands in while the object is out: nothing can reach the slot meanwhile (no
        // collection runs inside a native call)
        let Some(Obj::Native(obj)) = slot.replace(Obj::Cell(Value::None)) else { unreachable!() };
        let out = f(&*obj, self);
        self.slots[r.0 as usize] = Some(Obj::Native(obj));
        Some(out)
    }

    #[inline(never)]
    fn touch(&mut self, i: usize) {
        let m = self.meta[i];
        if m & (OLD | TOUCHED) == OLD {
            self.touched.push(i as u32);
        }
        // whoever changes it could change what it owns: from now on it is dropped when freed
        self.meta[i] = (m | if m & OLD != 0 { TOUCHED } else { 0 }) & !(PLAIN | WATCH);
    }

    /// Approximate bytes live: the old generation and what was allocated since the last
    /// collection.
    pub fn live_bytes(&self) -> usize {
        self.old_bytes + self.allocated
    }

    /// Makes the next collection a full one.
    pub fn force_full(&mut self) {
        self.full_at = 0;
    }

    pub fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Collects at a safe point: only the young generation, unless the old one has grown
    /// enough to be worth a full collection. `roots` must hold every value the program can
    /// still reach other than through objects.
    pub fn collect<'a>(&mut self, roots: impl Iterator<Item = &'a Value>) {
        if self.old_bytes >= self.full_at {
            self.collect_full(roots);
        } else {
            self.collect_young(roots);
        }
    }

    /// Marks the young objects reachable from `roots` and from the old objects changed since
    /// the last collection, frees the other young ones and promotes the survivors.
    fn collect_young<'a>(&mut self, roots: impl Iterator<Item = &'a Value>) {
        let Heap { slots, meta, free, young, touched, .. } = self;
        for &i in touched.iter() {
            meta[i as usize] = (meta[i as usize] & !TOUCHED) | WATCH;
        }
        // old objects count as marked: nothing old is traced or freed here
        let promoted = mark::<{ MARK | OLD }>(slots, meta, roots, touched);
        touched.clear();
        // the freed indices are written past the free list's end and counted once: pushed one
        // by one, the length went back to memory on every object, a third of the sweep
        free.reserve(young.len());
        let mut n = free.len();
        let out = free.as_mut_ptr();
        for &i in young.iter() {
            // SAFETY: young indices are slots of this heap
            let m = unsafe { meta.get_unchecked_mut(i as usize) };
            if *m & MARK != 0 {
                *m = (*m & !MARK) | OLD | WATCH;
            } else {
                release(slots, m, i as usize);
                // SAFETY: room was reserved for every young index
                unsafe { out.add(n).write(i) };
                n += 1;
            }
        }
        // SAFETY: the first `n` entries are written
        unsafe { free.set_len(n) };
        young.clear();
        self.old_bytes += promoted;
        self.finish();
    }

    /// Marks everything reachable from `roots` and frees the rest, old or young.
    pub fn collect_full<'a>(&mut self, roots: impl Iterator<Item = &'a Value>) {
        let Heap { slots, meta, free, young, touched, .. } = self;
        let live_bytes = mark::<MARK>(slots, meta, roots, &[]);
        for (i, m) in meta.iter_mut().enumerate() {
            if *m & MARK != 0 {
                *m = (*m & !(MARK | TOUCHED)) | OLD | WATCH;
            } else if *m & FREE == 0 {
                release(slots, m, i);
                free.push(i as u32);
            }
        }
        young.clear();
        touched.clear();
        self.old_bytes = live_bytes;
        self.full_at = (2 * live_bytes).max(2 * MIN_NURSERY);
        self.full_collections += 1;
        self.finish();
    }

    fn finish(&mut self) {
        self.collections += 1;
        self.allocated = 0;
        self.nursery = (self.old_bytes / 2).max(MIN_NURSERY);
    }
}

/// Marks the objects reachable from `roots` and from the objects `traced` refers to, passing
/// over any whose flags have a bit of `SKIP` (already marked, or old in a minor collection), and
/// returns their approximate bytes. An object is marked when it is first found, so each is
/// pushed and traced once, and its size is counted while it is in the cache.
fn mark<'a, const SKIP: u8>(slots: &[Option<Obj>], meta: &mut [u8], roots: impl Iterator<Item = &'a Value>, traced: &[u32]) -> usize {
    fn found<const SKIP: u8>(meta: &mut [u8], stack: &mut Vec<ObjRef>, r: ObjRef) {
        let m = &mut meta[r.0 as usize];
        if *m & SKIP == 0 {
            *m |= MARK;
            stack.push(r);
        }
    }
    let mut stack: Vec<ObjRef> = Vec::new();
    for v in roots {
        if let Value::Obj(r) = v {
            found::<SKIP>(meta, &mut stack, *r);
        }
    }
    for &i in traced {
        if let Some(o) = &slots[i as usize] {
            o.trace(|r| found::<SKIP>(meta, &mut stack, r));
        }
    }
    let mut bytes = 0;
    while let Some(r) = stack.pop() {
        if let Some(o) = &slots[r.0 as usize] {
            bytes += o.approx_bytes();
            o.trace(|r| found::<SKIP>(meta, &mut stack, r));
        }
    }
    bytes
}

/// Frees a dead object's slot. A plain one is left as it is, unread: it owns nothing, and
/// `alloc` overwrites it without dropping it.
#[inline]
fn release(slots: &mut [Option<Obj>], meta: &mut u8, i: usize) {
    if *meta & PLAIN == 0 {
        slots[i] = None;
    }
    *meta = FREE;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Fields;

    fn record(h: &mut Heap, fields: &[Value]) -> Value {
        h.alloc(Obj::Record { ty: 0, fields: Fields::from_slice(fields) })
    }

    fn obj(v: Value) -> ObjRef {
        let Value::Obj(r) = v else { panic!("not an object") };
        r
    }

    #[test]
    fn collection_keeps_the_reachable_and_reuses_the_rest() {
        let mut h = Heap::new();
        let s = h.alloc_str("kept");
        let leaf = record(&mut h, &[Value::Int(7), Value::None]);
        let node = h.alloc(Obj::Tuple(Fields::from_slice(&[leaf, s])));
        // garbage of each kind: inline and spilled records, a string, a cycle through a list
        record(&mut h, &[Value::Int(1)]);
        record(&mut h, &[Value::Int(1), Value::Int(2), Value::Int(3)]);
        h.alloc_str("dropped");
        let l = h.alloc(Obj::List(vec![].into()));
        if let Obj::List(v) = h.get_mut(obj(l)) {
            v.push(l);
        }
        assert_eq!(h.live(), 7);
        h.collect([node].iter());
        assert_eq!(h.live(), 3);
        let Obj::Tuple(f) = h.get(obj(node)) else { panic!("the root survives") };
        let (a, b) = (obj(f[0]), obj(f[1]));
        assert!(matches!(h.get(a), Obj::Record { fields, .. } if matches!(fields[0], Value::Int(7))));
        assert!(matches!(h.get(b), Obj::Str(t) if &**t == "kept"));
        // the four freed slots are reused before the heap grows
        let before = h.slots.len();
        for _ in 0..4 {
            h.alloc_str("new");
        }
        assert_eq!(h.slots.len(), before);
        // the survivors are old now: a full collection frees them once unreachable
        h.collect_full(std::iter::empty());
        assert_eq!(h.live(), 0);
    }

    #[test]
    fn a_minor_collection_frees_young_garbage_and_leaves_the_old() {
        let mut h = Heap::new();
        let old = record(&mut h, &[Value::Int(1), Value::None]);
        h.collect([old].iter());
        assert_eq!(h.live(), 1);
        // the old record is no longer a root, but only a full collection can tell
        let young = record(&mut h, &[Value::Int(2), Value::None]);
        h.collect_young([young].iter());
        assert_eq!(h.live(), 2, "old objects count as reachable in a minor collection");
        h.collect_young(std::iter::empty());
        assert_eq!(h.live(), 2, "the young record survived once, so it is old too");
        h.collect_full(std::iter::empty());
        assert_eq!(h.live(), 0);
        assert_eq!((h.collections, h.full_collections), (4, 1));
    }

    #[test]
    fn a_young_object_stored_in_an_old_one_survives_minor_collections() {
        let mut h = Heap::new();
        let list = h.alloc(Obj::List(vec![].into()));
        let rec = record(&mut h, &[Value::None, Value::None]);
        h.collect([list, rec].iter());
        // the write barrier: changing an old object records it
        for (holder, n) in [(list, 0), (rec, 1)] {
            let young = h.alloc_str(format!("young {n}"));
            match h.get_mut(obj(holder)) {
                Obj::List(v) => v.push(young),
                Obj::Record { fields, .. } => fields[1] = young,
                _ => unreachable!(),
            }
        }
        h.alloc_str("garbage");
        h.collect_young([list, rec].iter());
        assert_eq!(h.live(), 4, "both young strings reached only through old objects survive");
        let Obj::List(v) = h.get(obj(list)) else { panic!() };
        assert!(matches!(h.get(obj(v.get(0).unwrap())), Obj::Str(t) if &**t == "young 0"));
        // they are old now, and the holders are watched again: another change is recorded
        let newer = h.alloc_str("newer");
        if let Obj::List(v) = h.get_mut(obj(list)) {
            v.push(newer);
        }
        h.collect_young(std::iter::empty());
        assert_eq!(h.live(), 5);
        h.collect_full([list].iter());
        assert_eq!(h.live(), 3, "the list and its two strings");
    }

    #[test]
    fn a_changed_record_is_dropped_when_freed() {
        // a record that has been changed through `get_mut` is no longer trusted to own nothing
        let mut h = Heap::new();
        let r = record(&mut h, &[Value::None, Value::None]);
        assert_ne!(h.meta[obj(r).0 as usize] & PLAIN, 0);
        h.get_mut(obj(r));
        assert_eq!(h.meta[obj(r).0 as usize] & PLAIN, 0);
        h.collect(std::iter::empty());
        assert!(h.slots[obj(r).0 as usize].is_none(), "dropped, not left in its slot");
        // a plain one is left in its slot, unread, and overwritten when the slot is reused
        let p = record(&mut h, &[Value::Int(1), Value::None]);
        assert_eq!(obj(p), obj(r), "the freed slot is reused");
        h.collect(std::iter::empty());
        assert!(h.slots[obj(p).0 as usize].is_some());
        let s = h.alloc_str("reuses it");
        assert_eq!(obj(s), obj(p));
        assert!(matches!(h.get(obj(s)), Obj::Str(t) if &**t == "reuses it"));
    }

    #[test]
    fn pacing_collects_fully_once_the_old_generation_doubles() {
        let mut h = Heap::new();
        let keep = h.alloc(Obj::List(vec![].into()));
        let mut full = 0;
        for round in 0..200 {
            // a list that keeps growing, then young garbage until a collection is due
            let s = h.alloc_str(format!("kept {round}"));
            if let Obj::List(v) = h.get_mut(obj(keep)) {
                v.push(s);
            }
            while !h.wants_gc() {
                record(&mut h, &[Value::Int(round), Value::None]);
            }
            h.collect([keep].iter());
            full = h.full_collections;
        }
        assert_eq!(h.collections, 200);
        assert_eq!(h.live(), 201, "the list and its strings; all young garbage freed");
        // the old generation only grows by the strings kept, so full collections stay rare
        assert!(full <= 2, "{full} full collections");
    }
}

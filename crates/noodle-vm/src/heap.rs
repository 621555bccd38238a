//! A heap of objects with a mark-and-sweep collector. Each VM (and later each actor) owns one
//! heap, collected independently; objects never move, so an `ObjRef` stays valid while the
//! object is reachable. Cycles are collected like everything else.

use crate::value::{Obj, ObjRef, Value};
use std::rc::Rc;

pub struct Heap {
    slots: Vec<Option<Obj>>,
    /// One per slot during a collection (all false outside one).
    marks: Vec<bool>,
    free: Vec<u32>,
    /// Approximate bytes allocated since the last collection.
    allocated: usize,
    /// Collect when `allocated` reaches this: the live size after the last collection (so the
    /// heap grows to about twice what is live, as with Lua's default pause), at least 256 KiB.
    threshold: usize,
    pub collections: usize,
}

const MIN_THRESHOLD: usize = 256 << 10;

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

impl Heap {
    pub fn new() -> Heap {
        Heap { slots: Vec::new(), marks: Vec::new(), free: Vec::new(), allocated: 0, threshold: MIN_THRESHOLD, collections: 0 }
    }

    #[inline(always)]
    pub fn alloc(&mut self, obj: Obj) -> Value {
        Value::Obj(self.alloc_ref(obj))
    }

    /// `alloc`, returning the handle alone: a `u32` comes back in a register, where a `Value`
    /// came back through memory written in two parts, and the interpreter's 16-byte read of it
    /// stalled on every allocation.
    pub fn alloc_ref(&mut self, obj: Obj) -> ObjRef {
        self.allocated += obj.approx_bytes();
        let r = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(obj);
                i
            }
            None => {
                if self.slots.capacity() == 0 {
                    // an actor's heap often holds just its state: do not start at four slots
                    self.slots.reserve_exact(1);
                }
                self.slots.push(Some(obj));
                (self.slots.len() - 1) as u32
            }
        };
        ObjRef(r)
    }

    pub fn alloc_str(&mut self, s: impl Into<Rc<str>>) -> Value {
        self.alloc(Obj::Str(s.into()))
    }

    /// True when enough has been allocated that the VM should collect at its next safe point.
    #[inline]
    pub fn wants_gc(&self) -> bool {
        self.allocated >= self.threshold
    }

    #[inline]
    pub fn get(&self, r: ObjRef) -> &Obj {
        // Handles come only from this heap and live objects are never freed, so the slot exists.
        self.slots[r.0 as usize].as_ref().expect("dangling object reference")
    }

    #[inline]
    pub fn get_mut(&mut self, r: ObjRef) -> &mut Obj {
        self.slots[r.0 as usize].as_mut().expect("dangling object reference")
    }

    pub fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Marks everything reachable from `roots` and frees the rest.
    pub fn collect<'a>(&mut self, roots: impl Iterator<Item = &'a Value>) {
        // marks grow here, not in `alloc`: a heap that is never collected (most actors')
        // never needs them, and all are false between collections
        self.marks.resize(self.slots.len(), false);
        let Heap { slots, marks, free, .. } = self;
        // an object is marked when it is first found, so each is pushed and traced once, and
        // its size is counted while it is in the cache
        fn found(marks: &mut [bool], stack: &mut Vec<ObjRef>, r: ObjRef) {
            let m = &mut marks[r.0 as usize];
            if !*m {
                *m = true;
                stack.push(r);
            }
        }
        let mut stack: Vec<ObjRef> = Vec::new();
        for v in roots {
            if let Value::Obj(r) = v {
                found(marks, &mut stack, *r);
            }
        }
        let mut live_bytes = 0;
        while let Some(r) = stack.pop() {
            if let Some(o) = &slots[r.0 as usize] {
                live_bytes += o.approx_bytes();
                o.trace(|r| found(marks, &mut stack, r));
            }
        }
        for (i, (slot, mark)) in slots.iter_mut().zip(marks.iter_mut()).enumerate() {
            if *mark {
                *mark = false;
                continue;
            }
            match slot {
                None => continue,
                // owns no memory beyond its slot (the commonest garbage: small records and
                // tuples): overwritten without running the drop code
                Some(Obj::Record { fields, .. } | Obj::Tuple(fields)) if !fields.spilled() => {
                    // SAFETY: the inline fields are `Copy` values, so not dropping them leaks
                    // nothing; `slot` is a valid, exclusive place
                    unsafe { std::ptr::write(slot, None) };
                }
                Some(_) => *slot = None,
            }
            free.push(i as u32);
        }
        self.collections += 1;
        self.allocated = 0;
        self.threshold = live_bytes.max(MIN_THRESHOLD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Fields;

    #[test]
    fn collection_keeps_the_reachable_and_reuses_the_rest() {
        let mut h = Heap::new();
        let s = h.alloc_str("kept");
        let leaf = h.alloc(Obj::Record { ty: 0, fields: Fields::from_slice(&[Value::Int(7), Value::None]) });
        let node = h.alloc(Obj::Tuple(Fields::from_slice(&[leaf, s])));
        // garbage of each kind: inline and spilled records, a string, a cycle through a list
        h.alloc(Obj::Record { ty: 0, fields: Fields::from_slice(&[Value::Int(1)]) });
        h.alloc(Obj::Record { ty: 0, fields: Fields::from_slice(&[Value::Int(1), Value::Int(2), Value::Int(3)]) });
        h.alloc_str("dropped");
        let l = h.alloc(Obj::List(vec![]));
        let Value::Obj(lr) = l else { unreachable!() };
        if let Obj::List(v) = h.get_mut(lr) {
            v.push(l);
        }
        assert_eq!(h.live(), 7);
        h.collect([node].iter());
        assert_eq!(h.live(), 3);
        let Value::Obj(nr) = node else { unreachable!() };
        let Obj::Tuple(f) = h.get(nr) else { panic!("the root survives") };
        let (Value::Obj(a), Value::Obj(b)) = (f[0], f[1]) else { panic!() };
        assert!(matches!(h.get(a), Obj::Record { fields, .. } if matches!(fields[0], Value::Int(7))));
        assert!(matches!(h.get(b), Obj::Str(t) if &**t == "kept"));
        // the four freed slots are reused before the heap grows
        let before = h.slots.len();
        for _ in 0..4 {
            h.alloc_str("new");
        }
        assert_eq!(h.slots.len(), before);
        // marks are all clear between collections, so a second one frees what the first kept
        h.collect(std::iter::empty());
        assert_eq!(h.live(), 0);
    }
}

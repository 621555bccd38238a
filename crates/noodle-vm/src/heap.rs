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
    /// heap grows to about twice what is live, as with Lua's default pause), at least 1 MiB.
    threshold: usize,
    pub collections: usize,
}

const MIN_THRESHOLD: usize = 1 << 20;

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

impl Heap {
    pub fn new() -> Heap {
        Heap { slots: Vec::new(), marks: Vec::new(), free: Vec::new(), allocated: 0, threshold: MIN_THRESHOLD, collections: 0 }
    }

    #[inline]
    pub fn alloc(&mut self, obj: Obj) -> Value {
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
        Value::Obj(ObjRef(r))
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
        let mut stack: Vec<ObjRef> = Vec::new();
        for v in roots {
            if let Value::Obj(r) = v {
                stack.push(*r);
            }
        }
        while let Some(r) = stack.pop() {
            let i = r.0 as usize;
            if self.marks[i] {
                continue;
            }
            self.marks[i] = true;
            if let Some(o) = &self.slots[i] {
                o.trace(&mut stack);
            }
        }
        let mut live_bytes = 0;
        for i in 0..self.slots.len() {
            if self.marks[i] {
                self.marks[i] = false;
                live_bytes += self.slots[i].as_ref().map_or(0, |o| o.approx_bytes());
            } else if self.slots[i].is_some() {
                self.slots[i] = None;
                self.free.push(i as u32);
            }
        }
        self.collections += 1;
        self.allocated = 0;
        self.threshold = live_bytes.max(MIN_THRESHOLD);
    }
}

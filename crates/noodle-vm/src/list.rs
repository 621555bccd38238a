//! The storage of a list. A list whose elements are all bools, all ints or all floats keeps
//! them unboxed (1 byte per bool, 8 per int or float) instead of as 16-byte values; any other
//! list keeps values. The choice is made from the elements themselves, never from the static
//! type, so it cannot be wrong: storing an element of another kind turns the list into a list
//! of values in place (once: it stays so until it is emptied), and reading an element gives
//! back exactly the value stored. An empty list picks its storage at its first push, so
//! `var xs: list[int] = []` grows unboxed.

use crate::value::Value;

#[derive(Clone, Debug)]
pub enum List {
    Values(Vec<Value>),
    Bools(Vec<bool>),
    Ints(Vec<i64>),
    Floats(Vec<f64>),
}

/// The unboxed storage that fits `v`, if any.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
}

fn kind_of(v: &Value) -> Option<Kind> {
    match v {
        Value::Bool(_) => Some(Kind::Bool),
        Value::Int(_) => Some(Kind::Int),
        Value::Float(_) => Some(Kind::Float),
        _ => None,
    }
}

/// The one storage kind shared by every element, if there is one.
fn common_kind(items: &[Value]) -> Option<Kind> {
    let k = kind_of(items.first()?)?;
    items.iter().all(|v| kind_of(v) == Some(k)).then_some(k)
}

impl Default for List {
    fn default() -> List {
        List::Values(Vec::new())
    }
}

impl From<Vec<Value>> for List {
    /// Unboxes the elements when they are all of one scalar kind.
    fn from(items: Vec<Value>) -> List {
        match common_kind(&items) {
            None => List::Values(items),
            Some(k) => unboxed(&items, k),
        }
    }
}

/// `items`, all of kind `k`, in that unboxed storage.
fn unboxed(items: &[Value], k: Kind) -> List {
    match k {
        Kind::Bool => List::Bools(items.iter().map(|v| matches!(v, Value::Bool(true))).collect()),
        Kind::Int => List::Ints(items.iter().map(|v| if let Value::Int(i) = v { *i } else { 0 }).collect()),
        Kind::Float => List::Floats(items.iter().map(|v| if let Value::Float(f) = v { *f } else { 0.0 }).collect()),
    }
}

impl FromIterator<Value> for List {
    fn from_iter<I: IntoIterator<Item = Value>>(items: I) -> List {
        List::from(items.into_iter().collect::<Vec<Value>>())
    }
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    /// A list of copies of `items`, unboxed when they are all of one scalar kind.
    pub fn from_slice(items: &[Value]) -> List {
        match common_kind(items) {
            None => List::Values(items.to_vec()),
            Some(k) => unboxed(items, k),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            List::Values(v) => v.len(),
            List::Bools(v) => v.len(),
            List::Ints(v) => v.len(),
            List::Floats(v) => v.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes room for `extra` more elements in the current storage without aborting: false
    /// when the memory cannot be had (the caller raises a catchable error). Growth doubles,
    /// as `push` would, or near the limit adds an eighth.
    /// A copy, or None when the memory for it cannot be had (where `clone` would abort).
    pub fn try_clone(&self) -> Option<List> {
        fn copy<T: Clone>(v: &[T]) -> Option<Vec<T>> {
            let mut out = Vec::new();
            out.try_reserve_exact(v.len()).ok()?;
            out.extend_from_slice(v);
            Some(out)
        }
        Some(match self {
            List::Values(v) => List::Values(copy(v)?),
            List::Bools(v) => List::Bools(copy(v)?),
            List::Ints(v) => List::Ints(copy(v)?),
            List::Floats(v) => List::Floats(copy(v)?),
        })
    }

    pub fn try_reserve(&mut self, extra: usize) -> bool {
        fn room<T>(v: &mut Vec<T>, extra: usize) -> bool {
            if v.capacity() - v.len() >= extra {
                return true;
            }
            // doubling, or near the limit an eighth more (never one at a time, which would
            // copy the whole list at each push)
            v.try_reserve(extra.max(v.len())).is_ok() || v.try_reserve_exact(extra.max(v.len() / 8)).is_ok()
        }
        match self {
            List::Values(v) => room(v, extra),
            List::Bools(v) => room(v, extra),
            List::Ints(v) => room(v, extra),
            List::Floats(v) => room(v, extra),
        }
    }

    /// Bytes owned by the storage (for collection pacing).
    pub fn heap_bytes(&self) -> usize {
        match self {
            List::Values(v) => v.capacity() * std::mem::size_of::<Value>(),
            List::Bools(v) => v.capacity(),
            List::Ints(v) => v.capacity() * 8,
            List::Floats(v) => v.capacity() * 8,
        }
    }

    /// The elements, when they are stored as values (an unboxed list holds no references).
    #[inline]
    pub fn as_values(&self) -> Option<&[Value]> {
        match self {
            List::Values(v) => Some(v),
            _ => None,
        }
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<Value> {
        if i < self.len() {
            // SAFETY: just checked
            Some(unsafe { self.get_unchecked(i) })
        } else {
            None
        }
    }

    /// # Safety
    /// `i` must be below `len()`.
    #[inline(always)]
    pub unsafe fn get_unchecked(&self, i: usize) -> Value {
        match self {
            List::Values(v) => *v.get_unchecked(i),
            List::Bools(v) => Value::Bool(*v.get_unchecked(i)),
            List::Ints(v) => Value::Int(*v.get_unchecked(i)),
            List::Floats(v) => Value::Float(*v.get_unchecked(i)),
        }
    }

    /// Stores `value` at `i`, which must be below `len()`.
    ///
    /// # Safety
    /// `i` must be below `len()`.
    #[inline(always)]
    pub unsafe fn set_unchecked(&mut self, i: usize, value: Value) {
        match (&mut *self, value) {
            (List::Values(v), _) => *v.get_unchecked_mut(i) = value,
            (List::Bools(v), Value::Bool(b)) => *v.get_unchecked_mut(i) = b,
            (List::Ints(v), Value::Int(n)) => *v.get_unchecked_mut(i) = n,
            (List::Floats(v), Value::Float(f)) => *v.get_unchecked_mut(i) = f,
            _ => *self.values_mut().get_unchecked_mut(i) = value,
        }
    }

    /// Stores `value` at `i`; false (and no change) when `i` is out of range.
    pub fn set(&mut self, i: usize, value: Value) -> bool {
        if i < self.len() {
            // SAFETY: just checked
            unsafe { self.set_unchecked(i, value) };
            true
        } else {
            false
        }
    }

    #[inline]
    pub fn push(&mut self, value: Value) {
        match (&mut *self, value) {
            (List::Values(v), _) if !v.is_empty() => v.push(value),
            (List::Bools(v), Value::Bool(b)) => v.push(b),
            (List::Ints(v), Value::Int(n)) => v.push(n),
            (List::Floats(v), Value::Float(f)) => v.push(f),
            (List::Values(v), _) => {
                // empty: the first element picks the storage
                *self = match value {
                    Value::Bool(b) => List::Bools(vec![b]),
                    Value::Int(n) => List::Ints(vec![n]),
                    Value::Float(f) => List::Floats(vec![f]),
                    _ => {
                        v.push(value);
                        return;
                    }
                }
            }
            _ => {
                if self.is_empty() {
                    *self = List::new();
                    return self.push(value);
                }
                self.values_mut().push(value)
            }
        }
    }

    pub fn pop(&mut self) -> Option<Value> {
        match self {
            List::Values(v) => v.pop(),
            List::Bools(v) => v.pop().map(Value::Bool),
            List::Ints(v) => v.pop().map(Value::Int),
            List::Floats(v) => v.pop().map(Value::Float),
        }
    }

    /// Inserts at `i`, which must be at most `len()`.
    pub fn insert(&mut self, i: usize, value: Value) {
        if self.is_empty() {
            return self.push(value);
        }
        match (&mut *self, value) {
            (List::Bools(v), Value::Bool(b)) => v.insert(i, b),
            (List::Ints(v), Value::Int(n)) => v.insert(i, n),
            (List::Floats(v), Value::Float(f)) => v.insert(i, f),
            _ => self.values_mut().insert(i, value),
        }
    }

    /// Removes and returns the element at `i`, which must be below `len()`.
    pub fn remove(&mut self, i: usize) -> Value {
        match self {
            List::Values(v) => v.remove(i),
            List::Bools(v) => Value::Bool(v.remove(i)),
            List::Ints(v) => Value::Int(v.remove(i)),
            List::Floats(v) => Value::Float(v.remove(i)),
        }
    }

    pub fn swap(&mut self, i: usize, j: usize) {
        match self {
            List::Values(v) => v.swap(i, j),
            List::Bools(v) => v.swap(i, j),
            List::Ints(v) => v.swap(i, j),
            List::Floats(v) => v.swap(i, j),
        }
    }

    pub fn reverse(&mut self) {
        match self {
            List::Values(v) => v.reverse(),
            List::Bools(v) => v.reverse(),
            List::Ints(v) => v.reverse(),
            List::Floats(v) => v.reverse(),
        }
    }

    /// Empties the list; its next push picks the storage again.
    pub fn clear(&mut self) {
        *self = List::new();
    }

    pub fn first(&self) -> Option<Value> {
        self.get(0)
    }

    pub fn last(&self) -> Option<Value> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn iter(&self) -> Iter<'_> {
        match self {
            List::Values(v) => Iter::Values(v.iter()),
            List::Bools(v) => Iter::Bools(v.iter()),
            List::Ints(v) => Iter::Ints(v.iter()),
            List::Floats(v) => Iter::Floats(v.iter()),
        }
    }

    /// The elements as values: borrowed when they are stored so, else a copy.
    pub fn values(&self) -> std::borrow::Cow<'_, [Value]> {
        match self {
            List::Values(v) => std::borrow::Cow::Borrowed(v),
            _ => std::borrow::Cow::Owned(self.iter().collect()),
        }
    }

    /// Where `value` first stands, when an unboxed list of its own kind (ints or bools) can say
    /// without the general equality: `Some(answer)`; None when the caller must compare values
    /// (a list of values, or a value of another kind, where 1 equals 1.0).
    pub fn position_unboxed(&self, value: Value) -> Option<Option<usize>> {
        match (self, value) {
            (List::Ints(v), Value::Int(x)) => Some(v.iter().position(|y| *y == x)),
            (List::Bools(v), Value::Bool(x)) => Some(v.iter().position(|y| *y == x)),
            _ => None,
        }
    }

    /// Sorts an unboxed list in place (ascending, stable) and says so; false, and no change,
    /// for a list of values or one holding a nan (which the general sort refuses).
    pub fn sort_unboxed(&mut self) -> bool {
        match self {
            List::Bools(v) => v.sort_unstable(),
            List::Ints(v) => v.sort_unstable(),
            // stable: -0.0 and 0.0 compare equal but are not the same value
            List::Floats(v) if !v.iter().any(|f| f.is_nan()) => v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal)),
            _ => return false,
        }
        true
    }

    /// The elements as values (a copy).
    pub fn to_vec(&self) -> Vec<Value> {
        match self {
            List::Values(v) => v.clone(),
            _ => self.iter().collect(),
        }
    }

    /// A copy of the elements `a..b` (`a <= b <= len()`), in the same storage.
    pub fn slice(&self, a: usize, b: usize) -> List {
        match self {
            List::Values(v) => List::Values(v[a..b].to_vec()),
            List::Bools(v) => List::Bools(v[a..b].to_vec()),
            List::Ints(v) => List::Ints(v[a..b].to_vec()),
            List::Floats(v) => List::Floats(v[a..b].to_vec()),
        }
    }

    /// The elements of `self` then those of `other`, unboxed when both are of one kind; None
    /// when there is no memory for it.
    pub fn concat(&self, other: &List) -> Option<List> {
        fn join<T: Clone>(a: &[T], b: &[T]) -> Option<Vec<T>> {
            let mut out = try_vec(a.len().checked_add(b.len())?)?;
            out.extend_from_slice(a);
            out.extend_from_slice(b);
            Some(out)
        }
        Some(match (self, other) {
            (List::Bools(a), List::Bools(b)) => List::Bools(join(a, b)?),
            (List::Ints(a), List::Ints(b)) => List::Ints(join(a, b)?),
            (List::Floats(a), List::Floats(b)) => List::Floats(join(a, b)?),
            (List::Values(a), List::Values(b)) => List::Values(join(a, b)?),
            (a, b) => List::Values(join(&a.to_vec(), &b.to_vec())?),
        })
    }

    /// Appends the elements of `other` (a copy of them).
    pub fn extend_from(&mut self, other: &List) {
        match (&mut *self, other) {
            (List::Bools(a), List::Bools(b)) => a.extend_from_slice(b),
            (List::Ints(a), List::Ints(b)) => a.extend_from_slice(b),
            (List::Floats(a), List::Floats(b)) => a.extend_from_slice(b),
            (a, b) if a.is_empty() => *a = b.clone(),
            (_, b) if b.is_empty() => {}
            (a, b) => a.values_mut().extend(b.iter()),
        }
    }

    /// `self` repeated `times` times, in the same storage; None when there is no memory for it.
    pub fn repeat(&self, times: usize) -> Option<List> {
        fn rep<T: Clone>(a: &[T], times: usize) -> Option<Vec<T>> {
            if a.is_empty() {
                // an empty list repeated any number of times, at once
                return Some(Vec::new());
            }
            let mut out = try_vec(a.len().checked_mul(times)?)?;
            for _ in 0..times {
                out.extend_from_slice(a);
            }
            Some(out)
        }
        Some(match self {
            List::Values(v) => List::Values(rep(v, times)?),
            List::Bools(v) => List::Bools(rep(v, times)?),
            List::Ints(v) => List::Ints(rep(v, times)?),
            List::Floats(v) => List::Floats(rep(v, times)?),
        })
    }

    /// The elements as values, to change in place: an unboxed list is boxed first (it stays
    /// boxed until it is emptied). For operations on any element kind; the common ones have
    /// methods of their own that keep the storage.
    pub fn values_mut(&mut self) -> &mut Vec<Value> {
        if !matches!(self, List::Values(_)) {
            *self = List::Values(self.to_vec());
        }
        match self {
            List::Values(v) => v,
            _ => unreachable!("boxed just above"),
        }
    }

    /// Replaces the elements with `items`, unboxed when they allow it.
    pub fn replace(&mut self, items: Vec<Value>) {
        *self = List::from(items);
    }
}

/// An empty vector with room for `n` elements, or None when the memory cannot be had.
fn try_vec<T>(n: usize) -> Option<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    Some(v)
}

/// The elements of a list, by value.
pub enum Iter<'a> {
    Values(std::slice::Iter<'a, Value>),
    Bools(std::slice::Iter<'a, bool>),
    Ints(std::slice::Iter<'a, i64>),
    Floats(std::slice::Iter<'a, f64>),
}

impl Iterator for Iter<'_> {
    type Item = Value;

    #[inline]
    fn next(&mut self) -> Option<Value> {
        match self {
            Iter::Values(i) => i.next().copied(),
            Iter::Bools(i) => i.next().map(|b| Value::Bool(*b)),
            Iter::Ints(i) => i.next().map(|n| Value::Int(*n)),
            Iter::Floats(i) => i.next().map(|f| Value::Float(*f)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {
    fn len(&self) -> usize {
        match self {
            Iter::Values(i) => i.len(),
            Iter::Bools(i) => i.len(),
            Iter::Ints(i) => i.len(),
            Iter::Floats(i) => i.len(),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Value> {
        match self {
            Iter::Values(i) => i.next_back().copied(),
            Iter::Bools(i) => i.next_back().map(|b| Value::Bool(*b)),
            Iter::Ints(i) => i.next_back().map(|n| Value::Int(*n)),
            Iter::Floats(i) => i.next_back().map(|f| Value::Float(*f)),
        }
    }
}

impl<'a> IntoIterator for &'a List {
    type Item = Value;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &[Value], b: &[Value]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| match (x, y) {
                (Value::Float(p), Value::Float(q)) => p.to_bits() == q.to_bits(),
                (Value::Int(p), Value::Int(q)) => p == q,
                (Value::Bool(p), Value::Bool(q)) => p == q,
                (Value::None, Value::None) => true,
                _ => false,
            })
    }

    #[test]
    fn scalars_are_unboxed_and_read_back_exactly() {
        let ints = List::from(vec![Value::Int(1), Value::Int(i64::MIN)]);
        assert!(matches!(ints, List::Ints(_)));
        assert!(same(&ints.to_vec(), &[Value::Int(1), Value::Int(i64::MIN)]));
        let floats = List::from(vec![Value::Float(-0.0), Value::Float(f64::NAN)]);
        assert!(matches!(floats, List::Floats(_)));
        assert!(same(&floats.to_vec(), &[Value::Float(-0.0), Value::Float(f64::NAN)]));
        // an int among floats is not a float: the list keeps values
        let mixed = List::from(vec![Value::Float(1.0), Value::Int(1)]);
        assert!(matches!(mixed, List::Values(_)));
    }

    #[test]
    fn a_foreign_element_boxes_the_list_and_keeps_the_rest() {
        let mut l = List::from(vec![Value::Bool(true), Value::Bool(false)]);
        l.set(1, Value::None);
        assert!(matches!(l, List::Values(_)));
        assert!(same(&l.to_vec(), &[Value::Bool(true), Value::None]));
        let mut l = List::from(vec![Value::Int(3)]);
        l.push(Value::Float(1.5));
        l.insert(0, Value::Bool(true));
        assert!(same(&l.to_vec(), &[Value::Bool(true), Value::Int(3), Value::Float(1.5)]));
    }

    #[test]
    fn an_empty_list_picks_its_storage_at_the_first_push() {
        let mut l = List::new();
        l.push(Value::Float(2.0));
        l.push(Value::Float(3.0));
        assert!(matches!(l, List::Floats(_)));
        l.clear();
        l.push(Value::None);
        l.push(Value::Int(1));
        assert!(matches!(l, List::Values(_)));
        assert_eq!(l.pop().map(|v| matches!(v, Value::Int(1))), Some(true));
    }

    #[test]
    fn concat_extend_slice_and_repeat_keep_the_storage() {
        let a = List::from(vec![Value::Int(1), Value::Int(2)]);
        let b = List::from(vec![Value::Int(3)]);
        assert!(matches!(a.concat(&b), Some(List::Ints(ref v)) if v == &[1, 2, 3]));
        assert!(matches!(a.repeat(2), Some(List::Ints(ref v)) if v == &[1, 2, 1, 2]));
        assert!(a.repeat(usize::MAX).is_none());
        assert!(List::new().repeat(usize::MAX).is_some_and(|l| l.is_empty()));
        assert!(matches!(a.slice(1, 2), List::Ints(ref v) if v == &[2]));
        let mut c = List::new();
        c.extend_from(&a);
        assert!(matches!(c, List::Ints(ref v) if v == &[1, 2]));
        c.extend_from(&List::from(vec![Value::None]));
        assert!(same(&c.to_vec(), &[Value::Int(1), Value::Int(2), Value::None]));
        let e = List::new();
        assert!(same(&e.concat(&b).unwrap().to_vec(), &[Value::Int(3)]));
        assert!(same(&List::from(vec![Value::Int(1)]).concat(&List::from(vec![Value::Bool(true)])).unwrap().to_vec(), &[Value::Int(1), Value::Bool(true)]));
        assert_eq!(a.iter().rev().count(), 2);
    }

    mod model {
        //! Random operations on a `List` against a plain `Vec<Value>` doing the same: the
        //! storage must never change what is read back.
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = Value> {
            prop_oneof![
                4 => (-3i64..3).prop_map(Value::Int),
                3 => prop_oneof![Just(0.5), Just(-0.0), Just(0.0), Just(f64::NAN), Just(2.0)].prop_map(Value::Float),
                3 => any::<bool>().prop_map(Value::Bool),
                1 => Just(Value::None),
            ]
        }

        #[derive(Debug, Clone)]
        enum Op {
            Push(Value),
            Set(usize, Value),
            Insert(usize, Value),
            Remove(usize),
            Pop,
            Swap(usize, usize),
            Reverse,
            Clear,
            Extend(Vec<Value>),
            Concat(Vec<Value>),
            Slice(usize, usize),
            Repeat(usize),
            Sort,
            Boxed(Value),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                6 => value().prop_map(Op::Push),
                3 => (0usize..8, value()).prop_map(|(i, v)| Op::Set(i, v)),
                2 => (0usize..8, value()).prop_map(|(i, v)| Op::Insert(i, v)),
                2 => (0usize..8).prop_map(Op::Remove),
                2 => Just(Op::Pop),
                1 => (0usize..8, 0usize..8).prop_map(|(i, j)| Op::Swap(i, j)),
                1 => Just(Op::Reverse),
                1 => Just(Op::Clear),
                2 => proptest::collection::vec(value(), 0..4).prop_map(Op::Extend),
                1 => proptest::collection::vec(value(), 0..4).prop_map(Op::Concat),
                1 => (0usize..8, 0usize..8).prop_map(|(a, b)| Op::Slice(a, b)),
                1 => (0usize..3).prop_map(Op::Repeat),
                1 => Just(Op::Sort),
                1 => value().prop_map(Op::Boxed),
            ]
        }

        fn key(v: &Value) -> (u8, u64) {
            match v {
                Value::None => (0, 0),
                Value::Bool(b) => (1, *b as u64),
                Value::Int(i) => (2, *i as u64),
                Value::Float(f) => (3, f.to_bits()),
                _ => (9, 0),
            }
        }

        proptest! {
            #[test]
            fn a_list_reads_back_what_a_vec_of_values_would(start in proptest::collection::vec(value(), 0..6), ops in proptest::collection::vec(op(), 0..40)) {
                let mut list = List::from(start.clone());
                let mut model = start;
                for op in ops {
                    match op {
                        Op::Push(v) => { list.push(v); model.push(v) }
                        Op::Set(i, v) => { prop_assert_eq!(list.set(i, v), i < model.len()); if i < model.len() { model[i] = v } }
                        Op::Insert(i, v) => { let i = i.min(model.len()); list.insert(i, v); model.insert(i, v) }
                        Op::Remove(i) => if i < model.len() { prop_assert_eq!(key(&list.remove(i)), key(&model.remove(i))) },
                        Op::Pop => prop_assert_eq!(list.pop().map(|v| key(&v)), model.pop().map(|v| key(&v))),
                        Op::Swap(i, j) => if i < model.len() && j < model.len() { list.swap(i, j); model.swap(i, j) },
                        Op::Reverse => { list.reverse(); model.reverse() }
                        Op::Clear => { list.clear(); model.clear() }
                        Op::Extend(vs) => { list.extend_from(&List::from(vs.clone())); model.extend(vs) }
                        Op::Concat(vs) => { list = list.concat(&List::from(vs.clone())).unwrap(); model.extend(vs) }
                        Op::Slice(a, b) => { let (a, b) = (a.min(model.len()), b.min(model.len())); let (a, b) = (a.min(b), b); list = list.slice(a, b); model = model[a..b].to_vec() }
                        Op::Repeat(n) => { list = list.repeat(n).unwrap(); model = model.repeat(n) }
                        Op::Sort => {
                            let before: Vec<(u8, u64)> = model.iter().map(key).collect();
                            if list.sort_unboxed() {
                                // an ascending, stable order of the same elements
                                let got = list.to_vec();
                                let mut want = model.clone();
                                want.sort_by(|x, y| match (x, y) {
                                    (Value::Int(p), Value::Int(q)) => p.cmp(q),
                                    (Value::Bool(p), Value::Bool(q)) => p.cmp(q),
                                    (Value::Float(p), Value::Float(q)) => p.partial_cmp(q).unwrap(),
                                    _ => panic!("an unboxed sort of mixed kinds: {before:?}"),
                                });
                                model = want;
                                prop_assert_eq!(got.iter().map(key).collect::<Vec<_>>(), model.iter().map(key).collect::<Vec<_>>());
                            }
                        }
                        Op::Boxed(v) => { list.values_mut().push(v); model.push(v) }
                    }
                    prop_assert_eq!(list.len(), model.len());
                    prop_assert_eq!(list.iter().map(|v| key(&v)).collect::<Vec<_>>(), model.iter().map(key).collect::<Vec<_>>());
                    prop_assert_eq!(list.iter().rev().map(|v| key(&v)).collect::<Vec<_>>(), model.iter().rev().map(key).collect::<Vec<_>>());
                    for (i, v) in model.iter().enumerate() {
                        prop_assert_eq!(list.get(i).map(|x| key(&x)), Some(key(v)));
                    }
                    prop_assert!(list.get(model.len()).is_none());
                }
            }
        }
    }
}

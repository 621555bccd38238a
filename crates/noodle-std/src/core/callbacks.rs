//! The list methods that call back into Noodle: `map`, `filter`, `reduce`, `any`, `all` and
//! `sort_by`. Each starts with `Ctx::call` and goes on in a `Continuation` that gets every
//! result, so the callback runs as an ordinary (preemptible) frame and an error inside it has
//! the native in its stack trace. Like `for x in xs`, each step reads the list's length again,
//! so a callback that changes the list sees the same effect it would in a loop. Results are
//! kept in the continuation (traced for the collector) until the list is made at the end.

use super::{new_list, sort_order};
use noodle_native::{arity, as_list, as_list_mut, Continuation, Ctx, Flow, Heap, Obj, Value, VmError};
use noodle_vm::ops::truthy;

type Step = Result<Value, Flow>;

/// The element at `i` of list `xs`, if the list still has one there.
#[inline]
fn element(ctx: &Ctx, xs: Value, i: usize, name: &str) -> Result<Option<Value>, VmError> {
    match xs {
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::List(items) => Ok(items.get(i)),
            _ => Err(noodle_native::bad(name)),
        },
        _ => Err(noodle_native::bad(name)),
    }
}

/// `element` for the fast path (`Continuation::again`): None also when `xs` is not a list
/// (then `resume` reports it).
#[inline]
fn next(heap: &Heap, xs: Value, i: usize) -> Option<Value> {
    match xs {
        Value::Obj(r) => match heap.get(r) {
            Obj::List(items) => items.get(i),
            _ => None,
        },
        _ => None,
    }
}

/// `xs.map(f)`: a new list of `f(x)` for each element.
pub(super) fn list_map(ctx: &mut Ctx, args: &[Value]) -> Step {
    arity(args, 2, "list.map")?;
    let (xs, f) = (args[0], args[1]);
    let n = as_list(ctx.heap, xs, "list.map")?.len();
    match element(ctx, xs, 0, "list.map")? {
        None => Ok(new_list(ctx.heap, Vec::new())),
        Some(x) => Err(ctx.call(f, &[x], Some(Box::new(Map { xs, f, out: Vec::with_capacity(n), i: 0 })))),
    }
}

struct Map {
    xs: Value,
    f: Value,
    out: Vec<Value>,
    i: usize,
}

impl Continuation for Map {
    fn again(&mut self, heap: &Heap, result: Value, args: &mut [Value]) -> bool {
        let Some(x) = next(heap, self.xs, self.i + 1) else { return false };
        self.out.push(result);
        self.i += 1;
        args[0] = x;
        true
    }
    fn resume(&mut self, ctx: &mut Ctx, result: Value) -> Step {
        self.out.push(result);
        self.i += 1;
        match element(ctx, self.xs, self.i, "list.map")? {
            None => Ok(new_list(ctx.heap, std::mem::take(&mut self.out))),
            Some(x) => Err(ctx.call(self.f, &[x], None)),
        }
    }
    fn trace(&self, found: &mut dyn FnMut(Value)) {
        [self.xs, self.f].into_iter().chain(self.out.iter().copied()).for_each(found)
    }
}

/// `xs.filter(f)`: a new list of the elements for which `f` is true.
pub(super) fn list_filter(ctx: &mut Ctx, args: &[Value]) -> Step {
    arity(args, 2, "list.filter")?;
    let (xs, f) = (args[0], args[1]);
    match element(ctx, xs, 0, "list.filter")? {
        None => Ok(new_list(ctx.heap, Vec::new())),
        Some(x) => Err(ctx.call(f, &[x], Some(Box::new(Filter { xs, f, out: Vec::new(), i: 0, x })))),
    }
}

struct Filter {
    xs: Value,
    f: Value,
    out: Vec<Value>,
    i: usize,
    /// The element being tested (the list may change under the callback).
    x: Value,
}

impl Continuation for Filter {
    fn again(&mut self, heap: &Heap, result: Value, args: &mut [Value]) -> bool {
        let Some(x) = next(heap, self.xs, self.i + 1) else { return false };
        if truthy(heap, result) {
            self.out.push(self.x);
        }
        self.i += 1;
        self.x = x;
        args[0] = x;
        true
    }
    fn resume(&mut self, ctx: &mut Ctx, result: Value) -> Step {
        if truthy(ctx.heap, result) {
            self.out.push(self.x);
        }
        self.i += 1;
        match element(ctx, self.xs, self.i, "list.filter")? {
            None => Ok(new_list(ctx.heap, std::mem::take(&mut self.out))),
            Some(x) => {
                self.x = x;
                Err(ctx.call(self.f, &[x], None))
            }
        }
    }
    fn trace(&self, found: &mut dyn FnMut(Value)) {
        [self.xs, self.f, self.x].into_iter().chain(self.out.iter().copied()).for_each(found)
    }
}

/// `xs.reduce(init, f)`: `f(...f(f(init, x0), x1)..., xn)`.
pub(super) fn list_reduce(ctx: &mut Ctx, args: &[Value]) -> Step {
    arity(args, 3, "list.reduce")?;
    let (xs, init, f) = (args[0], args[1], args[2]);
    match element(ctx, xs, 0, "list.reduce")? {
        None => Ok(init),
        Some(x) => Err(ctx.call(f, &[init, x], Some(Box::new(Reduce { xs, f, acc: init, i: 0 })))),
    }
}

struct Reduce {
    xs: Value,
    f: Value,
    acc: Value,
    i: usize,
}

impl Continuation for Reduce {
    fn again(&mut self, heap: &Heap, result: Value, args: &mut [Value]) -> bool {
        let Some(x) = next(heap, self.xs, self.i + 1) else { return false };
        self.acc = result;
        self.i += 1;
        args[0] = result;
        args[1] = x;
        true
    }
    fn resume(&mut self, ctx: &mut Ctx, result: Value) -> Step {
        self.acc = result;
        self.i += 1;
        match element(ctx, self.xs, self.i, "list.reduce")? {
            None => Ok(self.acc),
            Some(x) => Err(ctx.call(self.f, &[self.acc, x], None)),
        }
    }
    fn trace(&self, found: &mut dyn FnMut(Value)) {
        [self.xs, self.f, self.acc].into_iter().for_each(found)
    }
}

/// `xs.any(f)` (`want` true) and `xs.all(f)` (`want` false): stops at the first element whose
/// test is `want`.
fn quantifier(ctx: &mut Ctx, args: &[Value], want: bool, name: &'static str) -> Step {
    arity(args, 2, name)?;
    let (xs, f) = (args[0], args[1]);
    match element(ctx, xs, 0, name)? {
        None => Ok(Value::Bool(!want)),
        Some(x) => Err(ctx.call(f, &[x], Some(Box::new(Quantifier { xs, f, i: 0, want, name })))),
    }
}

pub(super) fn list_any(ctx: &mut Ctx, args: &[Value]) -> Step {
    quantifier(ctx, args, true, "list.any")
}

pub(super) fn list_all(ctx: &mut Ctx, args: &[Value]) -> Step {
    quantifier(ctx, args, false, "list.all")
}

struct Quantifier {
    xs: Value,
    f: Value,
    i: usize,
    want: bool,
    name: &'static str,
}

impl Continuation for Quantifier {
    fn again(&mut self, heap: &Heap, result: Value, args: &mut [Value]) -> bool {
        if truthy(heap, result) == self.want {
            return false;
        }
        let Some(x) = next(heap, self.xs, self.i + 1) else { return false };
        self.i += 1;
        args[0] = x;
        true
    }
    fn resume(&mut self, ctx: &mut Ctx, result: Value) -> Step {
        if truthy(ctx.heap, result) == self.want {
            return Ok(Value::Bool(self.want));
        }
        self.i += 1;
        match element(ctx, self.xs, self.i, self.name)? {
            None => Ok(Value::Bool(!self.want)),
            Some(x) => Err(ctx.call(self.f, &[x], None)),
        }
    }
    fn trace(&self, found: &mut dyn FnMut(Value)) {
        [self.xs, self.f].into_iter().for_each(found)
    }
}

/// `xs.sort_by(key)`: sorts the list in place by `key(x)`, stably, calling `key` once per
/// element.
pub(super) fn list_sort_by(ctx: &mut Ctx, args: &[Value]) -> Step {
    arity(args, 2, "list.sort_by")?;
    sort_by(ctx, args[0], args[1], false, false)
}

/// `xs.sorted_by(key, reverse)`: a sorted copy (`sorted(xs, key:, reverse:)`). Descending and
/// still stable: the copy is reversed, sorted, and reversed again, so equal keys keep their
/// order.
pub(super) fn list_sorted_by(ctx: &mut Ctx, args: &[Value]) -> Step {
    if args.len() != 2 && args.len() != 3 {
        return Err(noodle_native::bad("list.sorted_by").into());
    }
    let reverse = matches!(args.get(2), Some(Value::Bool(true)));
    let mut items = as_list(ctx.heap, args[0], "list.sorted_by")?.clone();
    if reverse {
        items.reverse();
    }
    let copy = ctx.heap.alloc(Obj::List(items));
    sort_by(ctx, copy, args[1], reverse, true)
}

fn sort_by(ctx: &mut Ctx, xs: Value, f: Value, reverse: bool, give: bool) -> Step {
    let n = as_list(ctx.heap, xs, "list.sort_by")?.len();
    let keys = Vec::with_capacity(n);
    let done = if give { xs } else { Value::None };
    match element(ctx, xs, 0, "list.sort_by")? {
        None => Ok(done),
        Some(x) => Err(ctx.call(f, &[x], Some(Box::new(SortBy { xs, f, keys, i: 0, n, reverse, give })))),
    }
}

struct SortBy {
    xs: Value,
    f: Value,
    /// The keys so far (traced).
    keys: Vec<Value>,
    i: usize,
    /// The list's length when the sort began: a key function that adds or removes elements
    /// is an error (N2011, as CPython's "list modified during sort"), not a sort that never
    /// ends.
    n: usize,
    /// Reverse the sorted list (a descending sort of a list reversed first).
    reverse: bool,
    /// Return the list (a sorted copy) instead of none.
    give: bool,
}

/// The list's length, when `xs` is still a list.
fn list_len(heap: &Heap, xs: Value) -> Option<usize> {
    match xs {
        Value::Obj(r) => match heap.get(r) {
            Obj::List(items) => Some(items.len()),
            _ => None,
        },
        _ => None,
    }
}

impl Continuation for SortBy {
    fn again(&mut self, heap: &Heap, result: Value, args: &mut [Value]) -> bool {
        if list_len(heap, self.xs) != Some(self.n) {
            return false;
        }
        let Some(x) = next(heap, self.xs, self.i + 1) else { return false };
        self.keys.push(result);
        self.i += 1;
        args[0] = x;
        true
    }
    fn resume(&mut self, ctx: &mut Ctx, result: Value) -> Step {
        self.keys.push(result);
        self.i += 1;
        if as_list(ctx.heap, self.xs, "list.sort_by")?.len() != self.n {
            return Err(VmError::arg("list.sort_by: the key function changed the list's length (a list must not be modified while it is sorted)").into());
        }
        if let Some(x) = element(ctx, self.xs, self.i, "list.sort_by")? {
            return Err(ctx.call(self.f, &[x], None));
        }
        let order = sort_order(ctx.heap, ctx.program, &self.keys)?;
        let items = as_list(ctx.heap, self.xs, "list.sort_by")?;
        // SAFETY: `order` is a permutation of `0..n`, and the length is still `n` (checked above)
        let mut sorted: Vec<Value> = order.into_iter().map(|i| unsafe { items.get_unchecked(i) }).collect();
        if self.reverse {
            sorted.reverse();
        }
        as_list_mut(ctx.heap, self.xs, "list.sort_by")?.replace(sorted);
        Ok(if self.give { self.xs } else { Value::None })
    }
    fn trace(&self, found: &mut dyn FnMut(Value)) {
        [self.xs, self.f].into_iter().chain(self.keys.iter().copied()).for_each(found)
    }
}

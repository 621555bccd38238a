//! `std.collections`: a deque, a priority queue, a counter, a default dict and sorted maps and
//! sets, written in Noodle (the declarations are the implementation: generic structs whose
//! methods have bodies). The two functions here let the sorted collections order keys of a
//! type parameter, which Noodle code cannot compare with `<` (the check happens when two keys
//! meet, as for the fields of an `Ord` struct).

use noodle_native::{arity, as_list, bad, Ctx, Heap, List, Module, Obj, Value, VmError};
use noodle_nbc::Program;
use noodle_vm::ops::compare;
use std::cmp::Ordering;

type R = Result<Value, noodle_native::Flow>;

/// The `std.collections` module: its declarations, which are also most of its code.
pub fn module() -> Module {
    Module::new("std.collections", include_str!("collections.noodle")).function("__compare", compare_keys).function("__bisect", bisect).function("__find", find)
}

/// `__compare(a, b)`: -1, 0 or 1 as `a` orders before, with or after `b` (N2011 for values
/// that cannot be ordered, such as `nan` or two dicts).
fn compare_keys(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "__compare")?;
    let o = compare(ctx.heap, ctx.program, args[0], args[1])?;
    Ok(Value::Int(o as i64))
}

/// `__bisect(xs, x, right)`: where `x` goes in the sorted list `xs`: before the first element
/// not less than `x`, or with `right`, after the last element not greater than it.
fn bisect(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "__bisect")?;
    let xs = as_list(ctx.heap, args[0], "__bisect")?;
    let Value::Bool(right) = args[2] else { return Err(bad("__bisect").into()) };
    Ok(Value::Int(bisect_list(ctx.heap, ctx.program, xs, args[1], right)? as i64))
}

fn bisect_list(heap: &Heap, program: &Program, xs: &List, x: Value, right: bool) -> Result<usize, VmError> {
    // int keys, the common case, without a comparison through values
    if let (List::Ints(v), Value::Int(k)) = (xs, x) {
        return Ok(if right { v.partition_point(|e| *e <= k) } else { v.partition_point(|e| *e < k) });
    }
    let (mut lo, mut hi) = (0, xs.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let at = xs.get(mid).ok_or_else(|| VmError::bad_operand("__bisect"))?;
        let o = compare(heap, program, at, x)?;
        if o == Ordering::Less || (right && o == Ordering::Equal) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// `__find(maxes, chunks, key)`: where `key` is in a `SortedMap` (its `maxes` and `chunks`),
/// as `chunk << 32 | index`, or where it would go, as `-(chunk << 32 | index) - 1`, past the
/// largest key at the end of the last chunk. One call does what two bisections and a
/// comparison would do from Noodle, for the map's lookups.
fn find(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "__find")?;
    let (heap, program, key) = (&*ctx.heap, ctx.program, args[2]);
    let maxes = as_list(heap, args[0], "__find")?;
    let chunks = as_list(heap, args[1], "__find")?;
    let keys_of = |i: usize| -> Result<&List, VmError> {
        match chunks.get(i) {
            Some(Value::Obj(r)) => match heap.get(r) {
                Obj::Record { fields, .. } if !fields.is_empty() => as_list(heap, fields[0], "__find"),
                _ => Err(bad("__find")),
            },
            _ => Err(bad("__find")),
        }
    };
    let n = maxes.len();
    if n == 0 {
        return Ok(Value::Int(-1));
    }
    let mut i = bisect_list(heap, program, maxes, key, false)?;
    let keys;
    let j = if i == n {
        i = n - 1;
        keys = keys_of(i)?;
        keys.len()
    } else {
        keys = keys_of(i)?;
        bisect_list(heap, program, keys, key, false)?
    };
    let at = ((i as i64) << 32) | j as i64;
    let found = match keys.get(j) {
        Some(k) => compare(heap, program, k, key)? == Ordering::Equal,
        None => false,
    };
    Ok(Value::Int(if found { at } else { -at - 1 }))
}

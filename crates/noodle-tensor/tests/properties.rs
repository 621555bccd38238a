//! Property tests of broadcasting and view semantics against a naive reference.
//!
//! The reference keeps a tensor as its shape plus its elements in row-major order (`Vec<f64>`)
//! and computes every expected element by explicit index arithmetic: no strides, no views, no
//! shared code with the crate. Element values are small integers, so every dtype (bool, i64,
//! f32, f64) holds them exactly and results can be compared for equality.

use noodle_tensor::kernels::{binary, BinOp};
use noodle_tensor::reduce::{reduce, ReduceOp};
use noodle_tensor::{broadcast_shapes, DType, IndexItem, Scalar, Tensor};
use proptest::prelude::*;
use proptest::sample::Index as PIndex;

// ------------------------------------------------------------------------------ reference

/// Every multi-index of `shape` in row-major order (one empty index for a 0-d shape).
fn multi_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &d in shape {
        let mut next = Vec::with_capacity(out.len() * d);
        for prefix in &out {
            for i in 0..d {
                let mut v = prefix.clone();
                v.push(i);
                next.push(v);
            }
        }
        out = next;
    }
    out
}

/// Row-major flat position of `idx` in `shape`.
fn flat(shape: &[usize], idx: &[usize]) -> usize {
    shape.iter().zip(idx).fold(0, |acc, (&d, &i)| acc * d + i)
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Deterministic small integer values (in -9..=9) from a seed.
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x % 19) as i64 - 9) as f64
        })
        .collect()
}

/// Distinct values 1, 2, ..., n.
fn distinct(n: usize) -> Vec<f64> {
    (1..=n).map(|i| i as f64).collect()
}

/// A tensor with the given row-major elements and dtype. When `transposed`, it is built as the
/// transpose of a contiguous tensor of the reversed shape, so it is a non-contiguous view.
fn make(shape: &[usize], vals: &[f64], dtype: DType, transposed: bool) -> Tensor {
    if !transposed || shape.len() < 2 {
        return Tensor::from_vec(vals.to_vec(), shape.to_vec()).unwrap().astype(dtype);
    }
    let rev: Vec<usize> = shape.iter().rev().copied().collect();
    let mut base = vec![0.0; vals.len()];
    for idx in multi_indices(shape) {
        let ridx: Vec<usize> = idx.iter().rev().copied().collect();
        base[flat(&rev, &ridx)] = vals[flat(shape, &idx)];
    }
    let t = Tensor::from_vec(base, rev).unwrap().astype(dtype).transpose();
    assert_eq!(t.shape(), shape);
    t
}

/// NumPy's rule, written out: the broadcast shape, or None when the shapes are incompatible.
fn naive_broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { 1 };
    (0..n)
        .map(|i| {
            let (x, y) = (dim(a, i), dim(b, i));
            if x == y || y == 1 {
                Some(x)
            } else if x == 1 {
                Some(y)
            } else {
                None
            }
        })
        .collect()
}

/// The element of a (row-major `vals`, `shape`) operand that output index `out_idx` reads.
fn broadcast_read(shape: &[usize], vals: &[f64], out_idx: &[usize]) -> f64 {
    let lead = out_idx.len() - shape.len();
    let idx: Vec<usize> = shape.iter().enumerate().map(|(j, &d)| if d == 1 { 0 } else { out_idx[lead + j] }).collect();
    vals[flat(shape, &idx)]
}

/// Python's `slice(start, stop, step).indices(len)` followed by `range(...)`, as CPython
/// implements it.
fn py_slice(len: i64, start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Option<Vec<i64>> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let (lower, upper) = if step < 0 { (-1, len - 1) } else { (0, len) };
    let adjust = |v: i64| {
        if v < 0 {
            (v + len).max(lower)
        } else {
            v.min(upper)
        }
    };
    let start = start.map_or(if step < 0 { upper } else { lower }, adjust);
    let stop = stop.map_or(if step < 0 { lower } else { upper }, adjust);
    let mut out = vec![];
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i);
        i += step;
    }
    Some(out)
}

/// Applies subscripts to a reference tensor given as a shape plus, for every element in
/// row-major order, its position in the base buffer. None when the subscript is invalid.
fn naive_index(shape: &[usize], pos: &[usize], items: &[IndexItem]) -> Option<(Vec<usize>, Vec<usize>)> {
    if items.len() > shape.len() {
        return None;
    }
    // for each axis, the source coordinates it selects, and whether the axis is kept
    let mut picks: Vec<(Vec<usize>, bool)> = Vec::new();
    for (axis, &len) in shape.iter().enumerate() {
        let len_i = len as i64;
        match items.get(axis) {
            None => picks.push(((0..len).collect(), true)),
            Some(&IndexItem::At(i)) => {
                let j = if i < 0 { i + len_i } else { i };
                if j < 0 || j >= len_i {
                    return None;
                }
                picks.push((vec![j as usize], false));
            }
            Some(&IndexItem::Range { start, stop, step }) => {
                let sel = py_slice(len_i, start, stop, step)?;
                picks.push((sel.into_iter().map(|x| x as usize).collect(), true));
            }
        }
    }
    let sel_shape: Vec<usize> = picks.iter().map(|(p, _)| p.len()).collect();
    let out_shape: Vec<usize> = picks.iter().filter(|(_, keep)| *keep).map(|(p, _)| p.len()).collect();
    let out_pos = multi_indices(&sel_shape)
        .into_iter()
        .map(|k| {
            let src: Vec<usize> = k.iter().zip(&picks).map(|(&i, (p, _))| p[i]).collect();
            pos[flat(shape, &src)]
        })
        .collect();
    Some((out_shape, out_pos))
}

// ------------------------------------------------------------------------------ strategies

fn dtype() -> impl Strategy<Value = DType> {
    prop_oneof![Just(DType::Bool), Just(DType::I64), Just(DType::F32), Just(DType::F64)]
}

fn num_dtype() -> impl Strategy<Value = DType> {
    prop_oneof![Just(DType::I64), Just(DType::F32), Just(DType::F64)]
}

/// An operand shape derived from a broadcast result shape: some leading dimensions dropped and
/// some others set to 1.
fn operand(base: Vec<usize>) -> impl Strategy<Value = Vec<usize>> {
    let n = base.len();
    (0..=n, prop::collection::vec(prop::bool::weighted(0.3), n))
        .prop_map(move |(drop, ones)| base[drop..].iter().zip(&ones[drop..]).map(|(&d, &one)| if one { 1 } else { d }).collect())
}

/// Two shapes that usually broadcast; now and then one dimension of the second is replaced,
/// which may or may not make them incompatible.
fn shape_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(1usize..=4, 0..=4)
        .prop_flat_map(|base| (operand(base.clone()), operand(base), prop::option::weighted(0.25, (any::<PIndex>(), 1usize..=5))))
        .prop_map(|(a, mut b, breaker)| {
            if let (Some((ix, v)), false) = (breaker, b.is_empty()) {
                let i = ix.index(b.len());
                b[i] = v;
            }
            (a, b)
        })
}

fn index_item() -> impl Strategy<Value = IndexItem> {
    let bound = prop::option::of(-8i64..8);
    prop_oneof![
        1 => (-7i64..7).prop_map(IndexItem::At),
        3 => (bound.clone(), bound, prop::option::weighted(0.7, prop_oneof![-3i64..=-1, 1i64..=3]))
            .prop_map(|(start, stop, step)| IndexItem::Range { start, stop, step }),
    ]
}

/// Subscripts that are valid for `shape`: integers in range (maybe negative) and ranges.
fn valid_items(shape: Vec<usize>) -> impl Strategy<Value = Vec<IndexItem>> {
    let per_axis: Vec<_> = shape
        .iter()
        .map(|&d| {
            let d = d as i64;
            let bound = prop::option::of(-(d + 2)..(d + 2));
            let range = (bound.clone(), bound, prop::option::of(prop_oneof![-3i64..=-1, 1i64..=3]))
                .prop_map(|(start, stop, step)| IndexItem::Range { start, stop, step });
            if d == 0 {
                // no integer is a valid index into an empty axis
                range.boxed()
            } else {
                prop_oneof![1 => (-d..d).prop_map(IndexItem::At), 3 => range].boxed()
            }
        })
        .collect();
    let n = shape.len();
    (per_axis, 0..=n).prop_map(|(items, count)| items[..count].to_vec())
}

/// 64 cases per property (`PROPTEST_CASES` overrides); failures are reported, not persisted.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ------------------------------------------------------------------------------ (a) broadcasting

proptest! {
    #![proptest_config(config())]

    #[test]
    fn binary_ops_broadcast_like_the_reference(
        (sa, sb) in shape_pair(),
        (da, db) in (dtype(), dtype()),
        (ta, tb) in (any::<bool>(), any::<bool>()),
        seed in any::<u64>(),
        op in prop_oneof![Just(BinOp::Add), Just(BinOp::Mul), Just(BinOp::Sub), Just(BinOp::Maximum)],
    ) {
        let a = make(&sa, &values(numel(&sa), seed), da, ta);
        let b = make(&sb, &values(numel(&sb), seed.wrapping_mul(31).wrapping_add(7)), db, tb);
        let expected_shape = naive_broadcast_shape(&sa, &sb);
        prop_assert_eq!(broadcast_shapes(&sa, &sb).ok(), expected_shape.clone());
        let got = binary(op, &a, &b);
        let Some(shape) = expected_shape else {
            let e = got.unwrap_err();
            prop_assert_eq!(e.code, "N2101");
            return Ok(());
        };
        let got = got.unwrap();
        prop_assert_eq!(got.shape(), shape.as_slice());
        prop_assert_eq!(got.dtype(), op.result_dtype(da, db).unwrap());
        // the operands' values after their own dtype conversion (bool keeps only 0 / 1)
        let (va, vb) = (a.to_vec::<f64>(), b.to_vec::<f64>());
        let expected: Vec<f64> = multi_indices(&shape)
            .iter()
            .map(|idx| {
                let (x, y) = (broadcast_read(&sa, &va, idx), broadcast_read(&sb, &vb, idx));
                match op {
                    BinOp::Add => x + y,
                    BinOp::Mul => x * y,
                    BinOp::Sub => x - y,
                    _ => x.max(y),
                }
            })
            .collect();
        prop_assert_eq!(got.to_vec::<f64>(), expected);
    }

    #[test]
    fn broadcast_shapes_is_symmetric_and_matches_broadcast_to((sa, sb) in shape_pair()) {
        let ab = broadcast_shapes(&sa, &sb);
        prop_assert_eq!(ab.clone().ok(), broadcast_shapes(&sb, &sa).ok());
        if let Ok(shape) = ab {
            let a = make(&sa, &values(numel(&sa), 3), DType::F64, false);
            let v = a.broadcast_to(&shape).unwrap();
            let va = a.to_vec::<f64>();
            let expected: Vec<f64> = multi_indices(&shape).iter().map(|idx| broadcast_read(&sa, &va, idx)).collect();
            prop_assert_eq!(v.to_vec::<f64>(), expected);
            prop_assert!(v.shares_buffer(&a));
        }
    }
}

// ------------------------------------------------------------------------------ (b) indexing

proptest! {
    #![proptest_config(config())]

    #[test]
    fn index_matches_python_slicing(
        shape in prop::collection::vec(0usize..=5, 1..=4),
        items in prop::collection::vec(index_item(), 0..=4),
        transposed in any::<bool>(),
    ) {
        let n = numel(&shape);
        let t = make(&shape, &distinct(n), DType::F64, transposed);
        let vals = t.to_vec::<f64>();
        let pos: Vec<usize> = (0..n).collect();
        match (t.index(&items), naive_index(&shape, &pos, &items)) {
            (Ok(v), Some((want_shape, want_pos))) => {
                prop_assert_eq!(v.shape(), want_shape.as_slice());
                let want: Vec<f64> = want_pos.iter().map(|&p| vals[p]).collect();
                prop_assert_eq!(v.to_vec::<f64>(), want.clone());
                prop_assert_eq!(v.contiguous().to_vec::<f64>(), want.clone());
                prop_assert_eq!(v.copy().to_vec::<f64>(), want);
                prop_assert!(v.shares_buffer(&t));
            }
            (Err(e), None) => prop_assert!(e.code == "N2102", "unexpected error {:?}", e),
            (got, want) => prop_assert!(false, "index {:?} of shape {:?}: got {:?}, reference {:?}", items, shape, got.map(|v| v.shape().to_vec()), want.map(|w| w.0)),
        }
    }

    #[test]
    fn index_of_a_view_composes(
        (shape, first) in prop::collection::vec(0usize..=4, 1..=3).prop_flat_map(|s| (Just(s.clone()), valid_items(s))),
        second in prop::collection::vec(index_item(), 0..=3),
    ) {
        let n = numel(&shape);
        let t = make(&shape, &distinct(n), DType::F64, false);
        let pos: Vec<usize> = (0..n).collect();
        let (s1, p1) = naive_index(&shape, &pos, &first).expect("valid subscripts");
        let v1 = t.index(&first).unwrap();
        prop_assert_eq!(v1.shape(), s1.as_slice());
        match (v1.index(&second), naive_index(&s1, &p1, &second)) {
            (Ok(v2), Some((s2, p2))) => {
                prop_assert_eq!(v2.shape(), s2.as_slice());
                let want: Vec<f64> = p2.iter().map(|&p| (p + 1) as f64).collect();
                prop_assert_eq!(v2.to_vec::<f64>(), want);
            }
            (Err(_), None) => {}
            (got, want) => prop_assert!(false, "got {:?}, reference {:?}", got.map(|v| v.shape().to_vec()), want.map(|w| w.0)),
        }
    }
}

// ------------------------------------------------------------------------------ (c) reshape, transpose, permute

/// A shape with the same element count: the dimensions of `shape` in another order, merged or
/// split at random, or flattened with -1.
fn reshape_target(shape: Vec<usize>) -> impl Strategy<Value = Vec<i64>> {
    let n = numel(&shape) as i64;
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    prop_oneof![
        Just(vec![-1]),
        Just(vec![n]),
        Just(dims.clone()).prop_shuffle(),
        // merge adjacent dimensions
        (0..dims.len().max(1)).prop_map(move |i| {
            let mut d = dims.clone();
            if i + 1 < d.len() {
                let m = d[i] * d[i + 1];
                d.splice(i..i + 2, [m]);
            }
            d
        }),
        // one inferred dimension and a leading 1
        Just(shape.iter().map(|&d| d as i64).collect::<Vec<_>>()).prop_map(|mut d| {
            d.insert(0, 1);
            if let Some(x) = d.last_mut() {
                *x = -1;
            }
            d
        }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reshape_round_trips(
        (shape, target) in prop::collection::vec(1usize..=4, 0..=4).prop_flat_map(|s| (Just(s.clone()), reshape_target(s))),
        transposed in any::<bool>(),
    ) {
        let n = numel(&shape);
        let t = make(&shape, &distinct(n), DType::F64, transposed);
        let r = t.reshape(&target).unwrap();
        prop_assert_eq!(r.numel(), n);
        // reshaping keeps row-major order
        prop_assert_eq!(r.to_vec::<f64>(), t.to_vec::<f64>());
        let back = r.reshape(&shape.iter().map(|&d| d as i64).collect::<Vec<_>>()).unwrap();
        prop_assert_eq!(back.shape(), shape.as_slice());
        prop_assert_eq!(back.to_vec::<f64>(), t.to_vec::<f64>());
        // a contiguous tensor is reshaped as a view
        if t.is_contiguous() {
            prop_assert!(r.shares_buffer(&t));
        }
    }

    #[test]
    fn transpose_twice_is_identity(shape in prop::collection::vec(0usize..=4, 0..=4), transposed in any::<bool>()) {
        let t = make(&shape, &distinct(numel(&shape)), DType::F64, transposed);
        let tt = t.transpose().transpose();
        prop_assert_eq!(tt.shape(), t.shape());
        prop_assert_eq!(tt.strides(), t.strides());
        prop_assert_eq!(tt.offset(), t.offset());
        prop_assert_eq!(tt.to_vec::<f64>(), t.to_vec::<f64>());
        prop_assert!(tt.shares_buffer(&t));
    }

    #[test]
    fn permute_matches_the_reference(
        (shape, axes) in prop::collection::vec(1usize..=4, 0..=4)
            .prop_flat_map(|s| { let n = s.len(); (Just(s), Just((0..n).collect::<Vec<usize>>()).prop_shuffle()) }),
        negative in any::<bool>(),
    ) {
        let n = numel(&shape);
        let vals = distinct(n);
        let t = make(&shape, &vals, DType::F64, false);
        let nd = shape.len() as i64;
        let spec: Vec<i64> = axes.iter().map(|&a| if negative { a as i64 - nd } else { a as i64 }).collect();
        let p = t.permute(&spec).unwrap();
        let out_shape: Vec<usize> = axes.iter().map(|&a| shape[a]).collect();
        prop_assert_eq!(p.shape(), out_shape.as_slice());
        let expected: Vec<f64> = multi_indices(&out_shape)
            .iter()
            .map(|oi| {
                let mut src = vec![0; shape.len()];
                for (k, &a) in axes.iter().enumerate() {
                    src[a] = oi[k];
                }
                vals[flat(&shape, &src)]
            })
            .collect();
        prop_assert_eq!(p.to_vec::<f64>(), expected);
        // the inverse permutation brings it back
        let mut inv = vec![0i64; axes.len()];
        for (k, &a) in axes.iter().enumerate() {
            inv[a] = k as i64;
        }
        prop_assert_eq!(p.permute(&inv).unwrap().to_vec::<f64>(), vals);
    }
}

// ------------------------------------------------------------------------------ (d) writes through views

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fill_through_a_view_changes_exactly_its_elements(
        (shape, items) in prop::collection::vec(1usize..=5, 1..=3).prop_flat_map(|s| (Just(s.clone()), valid_items(s))),
        dt in num_dtype(),
    ) {
        let n = numel(&shape);
        let base = make(&shape, &distinct(n), dt, false);
        let pos: Vec<usize> = (0..n).collect();
        let (_, covered) = naive_index(&shape, &pos, &items).unwrap();
        let view = base.index(&items).unwrap();
        view.fill(Scalar::Int(-1));
        let mut want = distinct(n);
        for &p in &covered {
            want[p] = -1.0;
        }
        prop_assert_eq!(base.to_vec::<f64>(), want);
    }

    #[test]
    fn assign_through_a_view_changes_exactly_its_elements(
        (shape, items) in prop::collection::vec(1usize..=5, 1..=3).prop_flat_map(|s| (Just(s.clone()), valid_items(s))),
        dt in num_dtype(),
        src_dt in dtype(),
        src_kind in 0u8..4,
    ) {
        let n = numel(&shape);
        let base = make(&shape, &distinct(n), dt, false);
        let pos: Vec<usize> = (0..n).collect();
        let (vshape, covered) = naive_index(&shape, &pos, &items).unwrap();
        let view = base.index(&items).unwrap();
        let before = base.to_vec::<f64>();
        // the values written, one per element of the view in row-major order
        let (src, written): (Tensor, Vec<f64>) = match src_kind {
            // a full source of the view's shape
            0 => {
                let sv: Vec<f64> = (0..covered.len()).map(|i| -(i as f64) - 1.0).collect();
                let s = make(&vshape, &sv, src_dt, vshape.len() >= 2);
                let sv = s.to_vec::<f64>();
                (s, sv)
            }
            // a source broadcast along the leading axes (the view's last axis only)
            1 if !vshape.is_empty() => {
                let last = *vshape.last().unwrap();
                let sv: Vec<f64> = (0..last).map(|i| -(i as f64) - 1.0).collect();
                let s = make(&[last], &sv, src_dt, false);
                let sv = s.to_vec::<f64>();
                (s, (0..covered.len()).map(|k| sv[k % last]).collect())
            }
            // the view itself, reversed along every axis (overlaps the destination)
            2 => {
                let rev_items = vec![IndexItem::Range { start: None, stop: None, step: Some(-1) }; vshape.len()];
                let s = view.index(&rev_items).unwrap();
                let sv = s.to_vec::<f64>();
                (s, sv)
            }
            // a scalar
            _ => {
                let s = Tensor::scalar(Scalar::Int(-7), src_dt);
                let v = s.to_vec::<f64>()[0];
                (s, vec![v; covered.len()])
            }
        };
        // the destination's dtype converts what is written (bool sources are 0 / 1 already)
        let written: Vec<f64> = written.iter().map(|&x| Tensor::scalar(Scalar::Float(x), DType::F64).astype(dt).to_vec::<f64>()[0]).collect();
        view.assign(&src).unwrap();
        let mut want = before;
        for (k, &p) in covered.iter().enumerate() {
            want[p] = written[k];
        }
        prop_assert_eq!(base.to_vec::<f64>(), want);
    }

    #[test]
    fn assign_rejects_shapes_that_do_not_broadcast(shape in prop::collection::vec(2usize..=4, 1..=3), extra in 1usize..=3) {
        let t = Tensor::zeros(&shape, DType::F64).unwrap();
        let mut bad = shape.clone();
        *bad.last_mut().unwrap() += extra;
        let e = t.assign(&Tensor::zeros(&bad, DType::F64).unwrap()).unwrap_err();
        prop_assert_eq!(e.code, "N2101");
        prop_assert_eq!(t.to_vec::<f64>(), vec![0.0; numel(&shape)]);
    }
}

// ------------------------------------------------------------------------------ (e) sums

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sum_over_axes_matches_the_reference(
        (shape, axes) in prop::collection::vec(0usize..=4, 0..=4)
            .prop_flat_map(|s| { let n = s.len(); (Just(s), prop::collection::vec(any::<bool>(), n)) }),
        all_axes in prop::bool::weighted(0.15),
        negative in any::<bool>(),
        keepdims in any::<bool>(),
        dt in dtype(),
        transposed in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let n = numel(&shape);
        let t = make(&shape, &values(n, seed), dt, transposed);
        let vals = t.to_vec::<f64>();
        let nd = shape.len();
        let reduced: Vec<bool> = if all_axes { vec![true; nd] } else { axes };
        let spec: Vec<i64> = (0..nd).filter(|&i| reduced[i]).map(|i| if negative { i as i64 - nd as i64 } else { i as i64 }).collect();
        let got = reduce(ReduceOp::Sum, &t, if all_axes { None } else { Some(&spec) }, keepdims).unwrap();
        let out_shape: Vec<usize> = (0..nd)
            .filter_map(|i| if reduced[i] { keepdims.then_some(1) } else { Some(shape[i]) })
            .collect();
        let kept_shape: Vec<usize> = (0..nd).map(|i| if reduced[i] { 1 } else { shape[i] }).collect();
        let mut want = vec![0.0; numel(&kept_shape)];
        for idx in multi_indices(&shape) {
            let k: Vec<usize> = idx.iter().enumerate().map(|(i, &x)| if reduced[i] { 0 } else { x }).collect();
            want[flat(&kept_shape, &k)] += vals[flat(&shape, &idx)];
        }
        prop_assert_eq!(got.shape(), out_shape.as_slice());
        prop_assert_eq!(got.dtype(), ReduceOp::Sum.result_dtype(dt));
        prop_assert_eq!(got.to_vec::<f64>(), want);
    }
}

// ------------------------------------------------------------------------------ regressions

/// Found by `index_matches_python_slicing`: an integer index (or a non-empty range) along one
/// axis of a tensor with an empty axis moved the view's offset past the end of the (empty)
/// buffer, and reading the empty view panicked.
#[test]
fn regression_index_into_a_tensor_with_an_empty_axis() {
    let t = Tensor::zeros(&[2, 0], DType::F64).unwrap();
    let row = t.index(&[IndexItem::At(1)]).unwrap();
    assert_eq!(row.shape(), &[0]);
    assert!(row.to_vec::<f64>().is_empty());
    let rows = t.index(&[IndexItem::Range { start: Some(1), stop: Some(2), step: None }]).unwrap();
    assert_eq!(rows.shape(), &[1, 0]);
    assert!(rows.contiguous().to_vec::<f64>().is_empty());
    assert_eq!(binary(BinOp::Add, &rows, &rows).unwrap().shape(), &[1, 0]);
    assert_eq!(reduce(ReduceOp::Sum, &rows, Some(&[1]), false).unwrap().to_vec::<f64>(), vec![0.0]);
    rows.fill(Scalar::Int(1));
    rows.assign(&Tensor::zeros(&[0], DType::F64).unwrap()).unwrap();
}

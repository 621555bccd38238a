//! Printing in the style NumPy users know: nested brackets, columns aligned, the middle of
//! large tensors elided with `...`, and the dtype when it is not the default for its values.
//!
//! ```text
//! tensor([[1., 2.],
//!         [3., 4.]], dtype=f32)
//! ```

use crate::{with_dtype, DType, Elem, Tensor};

/// Tensors with more elements than this print only their edges.
const THRESHOLD: usize = 1000;
/// How many leading and trailing entries of each axis an elided tensor shows.
const EDGE: usize = 3;

/// Formats one float the way NumPy does for an array with the given style: up to 8 decimals,
/// trailing zeros dropped, `1.` for whole numbers.
fn float_text(x: f64, sci: bool) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if sci {
        let s = format!("{x:.8e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0');
        let exp: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let s = format!("{x:.8}");
    let s = s.trim_end_matches('0');
    if s == "-0." && x == 0.0 {
        return "-0.".into();
    }
    s.to_string()
}

/// `x` in scientific notation with `p` mantissa decimals (`1.e-10` when `p` is 0).
fn sci_text(x: f64, p: usize) -> String {
    let s = format!("{x:.p$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = e.parse().unwrap_or(0);
    let m = if p == 0 { format!("{m}.") } else { m.to_string() };
    format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

/// An f32 as NumPy prints it: the shortest text that reads back as the same f32 (so `sqrt(2)`
/// is `1.4142135`, not the f64 expansion of that f32), at most 8 decimals.
fn f32_text(x: f32, sci: bool) -> String {
    if sci || !x.is_finite() {
        return float_text(x as f64, sci);
    }
    let s = format!("{x}");
    match s.find('.') {
        Some(dot) if s.len() - dot - 1 > 8 => float_text(x as f64, false),
        Some(_) => s,
        None => s + ".",
    }
}

/// The text of a tensor, e.g. `tensor([1, 2, 3])`.
pub fn format_tensor(t: &Tensor) -> String {
    let full_shape = t.shape().to_vec();
    let elide = t.numel() > THRESHOLD;
    // only the elements that will be shown: the first and last EDGE of each long axis (so a
    // huge tensor, or a huge broadcast view, prints without being copied)
    let shown = if elide { edges(t) } else { t.clone() };
    let t = &shown;
    let shape = t.shape().to_vec();
    let vals: Vec<f64> = t.to_vec::<f64>();
    let texts: Vec<String> = with_dtype!(t.dtype(), T => {
        let raw = t.to_vec::<T>();
        match T::DTYPE {
            DType::Bool => raw.iter().map(|&b| if b.to_f64() != 0.0 { "True".to_string() } else { "False".to_string() }).collect(),
            DType::I64 => raw.iter().map(|x| x.to_i64().to_string()).collect(),
            _ => {
                let finite: Vec<f64> = vals.iter().copied().filter(|x| x.is_finite() && *x != 0.0).map(f64::abs).collect();
                let max = finite.iter().cloned().fold(0.0, f64::max);
                let min = finite.iter().cloned().fold(f64::INFINITY, f64::min);
                let sci = max >= 1e8 || (min < 1e-4) || (max / min > 1e3 && min < 1.0 && max > 1e3);
                if sci {
                    // NumPy gives every mantissa the same number of digits: 1.5e+09, 2.0e+00
                    let texts: Vec<String> = vals.iter().map(|&x| float_text(x, true)).collect();
                    let digits = |t: &String| t.split_once('e').map_or(0, |(m, _)| m.split_once('.').map_or(0, |(_, f)| f.len()));
                    let p = texts.iter().map(digits).max().unwrap_or(0);
                    texts.into_iter().zip(&vals).map(|(t, &x)| if x.is_finite() { sci_text(x, p) } else { t }).collect()
                } else if T::DTYPE == DType::F32 {
                    raw.iter().map(|&x| f32_text(x.to_f64() as f32, sci)).collect()
                } else {
                    vals.iter().map(|&x| float_text(x, sci)).collect()
                }
            }
        }
    });
    // align the decimal points, as NumPy does: pad the integer part on the left and the
    // fraction on the right; `nan` and `inf` are right-aligned in the whole width
    let split = |s: &String| match s.find('.') {
        Some(i) if !s.contains('e') => (i, s.len() - i),
        _ => (s.len(), 0),
    };
    let special = |s: &String| matches!(s.trim_start_matches('-'), "nan" | "inf");
    let int_w = texts.iter().filter(|s| !special(s)).map(|s| split(s).0).max().unwrap_or(0);
    let frac_w = texts.iter().filter(|s| !special(s)).map(|s| split(s).1).max().unwrap_or(0);
    let texts: Vec<String> = texts.iter().map(|s| {
        if special(s) {
            return format!("{s:>w$}", w = int_w + frac_w);
        }
        let (i, f) = split(s);
        format!("{}{s}{}", " ".repeat(int_w - i), " ".repeat(frac_w - f))
    }).collect();
    let width = texts.iter().map(|s| s.len()).max().unwrap_or(1);
    let mut out = String::from("tensor(");
    let indent = "tensor(".len();
    if shape.is_empty() {
        out.push_str(texts[0].trim());
    } else if t.numel() == 0 {
        out.push_str("[]");
    } else {
        let mut strides = vec![1usize; shape.len()];
        for i in (0..shape.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * shape[i + 1];
        }
        block(&mut out, &texts, &shape, &full_shape, &strides, 0, 0, width, indent, elide);
    }
    if t.numel() == 0 && shape.len() != 1 {
        out.push_str(&format!(", shape={}", crate::shape_str(&shape)));
    }
    // an elided tensor says its full shape on a line of its own, as NumPy 2 does
    if elide {
        out.push_str(&format!(",\n{}shape={}", " ".repeat(indent), crate::shape_str(&full_shape)));
    }
    let default_dtype = matches!(t.dtype(), DType::F64 | DType::I64 | DType::Bool);
    if !default_dtype || t.numel() == 0 {
        out.push_str(&format!(", dtype={}", t.dtype().name()));
    }
    out.push(')');
    out
}

/// The first and last `EDGE` entries of every axis longer than `2 * EDGE`, gathered into a
/// small tensor straight from the buffer (nothing else is read or copied).
fn edges(t: &Tensor) -> Tensor {
    let kept: Vec<Vec<usize>> = t.shape().iter().map(|&n| if n > 2 * EDGE { (0..EDGE).chain(n - EDGE..n).collect() } else { (0..n).collect() }).collect();
    let shape: Vec<usize> = kept.iter().map(|k| k.len()).collect();
    let count: usize = shape.iter().product();
    let guard = t.buffer().read();
    with_dtype!(t.dtype(), T => {
        let src = T::slice(&guard);
        let mut out = Vec::with_capacity(count);
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..count {
            let off = t.offset() as isize + idx.iter().enumerate().map(|(a, &i)| kept[a][i] as isize * t.strides()[a]).sum::<isize>();
            out.push(src[off as usize]);
            for a in (0..shape.len()).rev() {
                idx[a] += 1;
                if idx[a] < shape[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
        Tensor::from_vec(out, shape).expect("the gathered count is the shape's")
    })
}

#[allow(clippy::too_many_arguments)]
fn block(out: &mut String, texts: &[String], shape: &[usize], full_shape: &[usize], strides: &[usize], axis: usize, base: usize, width: usize, indent: usize, elide: bool) {
    let n = shape[axis];
    out.push('[');
    // `shape` is the shape of the shown elements; an axis longer than 2 * EDGE in the full
    // tensor was cut to its 2 * EDGE edge entries
    let shown: Vec<Option<usize>> = if elide && full_shape[axis] > 2 * EDGE {
        (0..EDGE).map(Some).chain(std::iter::once(None)).chain((EDGE..2 * EDGE).map(Some)).collect()
    } else {
        (0..n).map(Some).collect()
    };
    let last_axis = axis + 1 == shape.len();
    for (k, i) in shown.iter().enumerate() {
        if k > 0 {
            if last_axis {
                out.push_str(", ");
            } else {
                out.push(',');
                // one blank line between 2-d blocks, two between 3-d blocks, ...
                for _ in 0..(shape.len() - axis - 1) {
                    out.push('\n');
                }
                out.push_str(&" ".repeat(indent + axis + 1));
            }
        }
        match i {
            None => out.push_str("..."),
            Some(i) => {
                if last_axis {
                    let s = &texts[base + i * strides[axis]];
                    out.push_str(&" ".repeat(width - s.len()));
                    out.push_str(s);
                } else {
                    block(out, texts, shape, full_shape, strides, axis + 1, base + i * strides[axis], width, indent, elide);
                }
            }
        }
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_like_numpy() {
        let t = Tensor::from_vec(vec![1.0f64, 2.5, -3.0, 4.0], vec![2, 2]).unwrap();
        assert_eq!(format_tensor(&t), "tensor([[ 1. ,  2.5],\n        [-3. ,  4. ]])");
        let t = Tensor::from_vec(vec![1i64, 20, 3], vec![3]).unwrap();
        assert_eq!(format_tensor(&t), "tensor([ 1, 20,  3])");
        let t = Tensor::from_vec(vec![0.5f32], vec![]).unwrap();
        assert_eq!(format_tensor(&t), "tensor(0.5, dtype=f32)");
        let t = Tensor::from_vec(vec![0.0f32, 1.0, 2f32.sqrt(), 0.1], vec![4]).unwrap();
        assert_eq!(format_tensor(&t), "tensor([0.       , 1.       , 1.4142135, 0.1      ], dtype=f32)");
        // scientific notation, mantissas padded to the same digits (as NumPy prints them)
        let t = Tensor::from_vec(vec![1.5e9f64, 2.0], vec![2]).unwrap();
        assert_eq!(format_tensor(&t), "tensor([1.5e+09, 2.0e+00])");
        let t = Tensor::from_vec(vec![1e-10f64, 1.0], vec![2]).unwrap();
        assert_eq!(format_tensor(&t), "tensor([1.e-10, 1.e+00])");
        let t = Tensor::from_vec(vec![-1.0f64, 2.5e-3], vec![2]).unwrap();
        assert_eq!(format_tensor(&t), "tensor([-1.    ,  0.0025])");
        let t = Tensor::zeros(&[0, 3], DType::F64).unwrap();
        assert_eq!(format_tensor(&t), "tensor([], shape=(0, 3), dtype=f64)");
    }
}

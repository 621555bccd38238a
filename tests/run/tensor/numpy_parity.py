"""Writes numpy_parity.out: the same operations as numpy_parity.noodle, computed by NumPy.

    python3 numpy_parity.py > numpy_parity.out
"""
import numpy as np

def fmt_shape(s):
    return "[" + ", ".join(str(d) for d in s) + "]"

def show(name, t):
    t = np.asarray(t, dtype=np.float64)
    vals = [0.0 if -0.0000005 < x < 0.0000005 else x for x in t.reshape(-1)]
    print(f"{name} {fmt_shape(t.shape)}: " + " ".join(f"{x:.6f}" for x in vals))

def show_i(name, t):
    t = np.asarray(t)
    print(f"{name} {fmt_shape(t.shape)}: " + " ".join(str(int(x)) for x in t.reshape(-1)))

a = np.arange(12).astype(np.float64).reshape(3, 4) / 3.0 + 0.5
b = np.arange(4).astype(np.float64) * 0.25 - 0.3
show("a", a)
show("a+b", a + b)
show("a*b", a * b)
show("a/(b+1)", a / (b + 1.0))
show("a//0.7", a // 0.7)
show("a%0.7", a % 0.7)
show("a**2", a ** 2.0)
show("maximum", np.maximum(a, b * 10.0))
show("exp", np.exp(a * 0.1))
show("log", np.log(a))
show("sqrt", np.sqrt(a))
show("tanh", np.tanh(a - 2.0))
show("sigmoid", 1 / (1 + np.exp(-(a - 2.0))))
show("relu", np.maximum(a - 2.0, 0))
def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
show("softmax1", softmax(a, 1))
show("softmax0", softmax(a, 0))
show("clip", np.clip(a, 1.0, 3.0))
show("sum0", a.sum(axis=0))
show("sum1", a.sum(axis=1))
show("mean_keep", a.mean(axis=1, keepdims=True))
show("std0", a.std(axis=0))
show("var1", a.var(axis=1))
show("min1", a.min(axis=1))
show("max0", a.max(axis=0))
show("prod1", a.prod(axis=1))
show_i("argmax0", (a * b).argmax(axis=0))
show_i("argmin1", (a * b).argmin(axis=1))
print(f"sum {a.sum():.6f} mean {a.mean():.6f} std {a.std():.6f} argmax {(a * b).argmax()}")
show("a@a.T", a @ a.T)
show("a.T@a", a.T @ a)
c = np.arange(24).astype(np.float64).reshape(2, 3, 4) * 0.1
show("batched", c @ a.T)
show("matvec", a @ b)
show("slice", a[1:, ::2])
show("rev", a[::-1, 1])
show("lastcol", a[:, -1])
show("permute", c.transpose(2, 0, 1))
show("where", np.where(a > 1.5, a, -a))
show("concat", np.concatenate([a, a * 2.0], axis=1))
show("stack", np.stack([b, b + 1.0], axis=1))
show("split1", np.split(a, 2, axis=1)[1])
d = np.array([[3.0, 1.0, 2.0], [0.5, -1.0, 7.0]])
show("sort", np.sort(d, axis=1))
show_i("argsort", np.argsort(d, axis=0, kind="stable"))
idx = np.argsort(-d, axis=-1, kind="stable")[:, :2]
show("topk_v", np.take_along_axis(d, idx, axis=-1))
show_i("topk_i", idx)
m = np.array([[4.0, 1.0, 2.0], [1.0, 5.0, 3.0], [2.0, 3.0, 6.0]])
rhs = np.array([1.0, 3.0, 4.0])
show("solve", np.linalg.solve(m, rhs))
show("inv", np.linalg.inv(m))
print(f"det {np.linalg.det(m):.6f}")
show("cholesky", np.linalg.cholesky(m))
show("eigh_w", np.linalg.eigh(m)[0])
show("svd_s", np.linalg.svd(a, full_matrices=False)[1])
print(f"norm {np.linalg.norm(a):.6f} norm1 {np.linalg.norm(m, 1):.6f}")
show("qr_r_abs", np.abs(np.linalg.qr(m)[1]))
tall = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
show("lstsq", np.linalg.lstsq(tall, np.array([6.0, 5.0, 7.0, 10.0]), rcond=None)[0])

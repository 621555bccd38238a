"""The NumPy half of bench/tensor_compare: the operations of ops.noodle, same sizes and
repetitions, printing `name median_seconds`."""
import time
import numpy as np

def report(name, times):
    s = sorted(times)
    print(f"{name} {s[len(s) // 2]:.9f}")

rng = np.random.default_rng(1)
for n in (256, 1024, 2048):
    reps = 30 if n == 256 else 7 if n == 1024 else 3
    a64 = rng.random((n, n))
    b64 = rng.random((n, n))
    a32 = a64.astype(np.float32)
    b32 = b64.astype(np.float32)
    t32, t64 = [], []
    for _ in range(reps):
        t0 = time.perf_counter(); c32 = a32 @ b32; t32.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); c64 = a64 @ b64; t64.append(time.perf_counter() - t0)
    report(f"matmul_f32_{n}", t32)
    report(f"matmul_f64_{n}", t64)

x = rng.random(10_000_000)
y = rng.random(10_000_000)
tadd, tmul, texp = [], [], []
for _ in range(9):
    t0 = time.perf_counter(); s = x + y; tadd.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); p = x * y; tmul.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); e = np.exp(x); texp.append(time.perf_counter() - t0)
report("add_10M", tadd)
report("mul_10M", tmul)
report("exp_10M", texp)

m = rng.random((4000, 2500))
ts0, ts1, ta0, ta1 = [], [], [], []
for _ in range(9):
    t0 = time.perf_counter(); s0 = m.sum(axis=0); ts0.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); s1 = m.sum(axis=1); ts1.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); a0 = m.argmax(axis=0); ta0.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); a1 = m.argmax(axis=1); ta1.append(time.perf_counter() - t0)
report("sum_axis0_10M", ts0)
report("sum_axis1_10M", ts1)
report("argmax_axis0_10M", ta0)
report("argmax_axis1_10M", ta1)

sa = rng.random((1024, 1024)) + np.eye(1024) * 1024.0
sb = rng.random(1024)
tsolve = []
for _ in range(7):
    t0 = time.perf_counter(); sol = np.linalg.solve(sa, sb); tsolve.append(time.perf_counter() - t0)
report("solve_1024", tsolve)

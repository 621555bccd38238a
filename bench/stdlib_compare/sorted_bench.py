"""The Python side of the sorted-map benchmark: sortedcontainers.SortedDict, the same
operations on the same keys."""
import sys
import time
from sortedcontainers import SortedDict

n = int(sys.argv[1])
x = 12345
keys = []
for i in range(n):
    x = (x * 1103515245 + 12345) % 2147483648
    keys.append(x)
t0 = time.monotonic()
m = SortedDict()
for k in keys:
    m[k] = k % 1000
t1 = time.monotonic()
got = 0
for k in keys:
    got += m.get(k, 0)
t2 = time.monotonic()
in_range = 0
for i in range(1000):
    lo = i * 2147483
    in_range += len([(k, m[k]) for k in m.irange(lo, lo + 200000, inclusive=(True, False))])
t3 = time.monotonic()
for i in range(n // 2):
    m.pop(keys[i], None)
t4 = time.monotonic()
print(f"checksum {got} {in_range} {len(m)}")
print(f"insert {t1 - t0:.4f}")
print(f"get {t2 - t1:.4f}")
print(f"range {t3 - t2:.4f}")
print(f"remove {t4 - t3:.4f}")

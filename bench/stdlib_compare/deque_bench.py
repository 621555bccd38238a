"""The Python side of the deque benchmark: collections.deque, the same operations."""
import sys
import time
from collections import deque

n = int(sys.argv[1])
t0 = time.monotonic()
d = deque()
for i in range(n):
    d.append(i)
s = 0
for i in range(n):
    s += d.popleft()
for i in range(n):
    d.append(i)
    s += d.popleft()
t1 = time.monotonic()
print(f"checksum {s}")
print(f"deque {t1 - t0:.4f}")

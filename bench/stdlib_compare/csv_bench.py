"""The Python side of std.csv's benchmark: the same file with the csv module (records as
lists, rows as dataclasses with converted fields, two columns into a NumPy array when NumPy is
installed), then pandas' read_csv when it is installed. Prints what csv_bench.noodle prints."""
import csv
import dataclasses
import enum
import sys
import time


class Side(enum.Enum):
    Buy = 1
    Sell = 2


@dataclasses.dataclass
class Trade:
    id: int
    symbol: str
    side: Side
    qty: int
    price: float
    venue: str


path = sys.argv[1]
t0 = time.monotonic()
with open(path, newline="", encoding="utf-8") as f:
    r = csv.reader(f)
    next(r)
    records = list(r)
t1 = time.monotonic()
with open(path, newline="", encoding="utf-8") as f:
    r = csv.reader(f)
    next(r)
    trades = [Trade(int(a), b, Side[c], int(d), float(e), g) for a, b, c, d, e, g in r]
t2 = time.monotonic()
try:
    import numpy as np
except ImportError:
    np = None
total = 0.0
if np is not None:
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = next(r)
        qi, pi = header.index("qty"), header.index("price")
        m = np.array([(float(row[qi]), float(row[pi])) for row in r], dtype=np.float64)
    total = m.sum()
t3 = time.monotonic()
print(f"records {len(records)} qty {sum(t.qty for t in trades)} sum {total:.2f}")
print(f"rows {t1 - t0:.4f}")
print(f"typed {t2 - t1:.4f}")
if np is not None:
    print(f"tensor {t3 - t2:.4f}")
try:
    import pandas as pd
except ImportError:
    sys.exit(0)
t0 = time.monotonic()
df = pd.read_csv(path, dtype={"symbol": str, "side": str, "venue": str})
t1 = time.monotonic()
m = pd.read_csv(path, usecols=["qty", "price"]).to_numpy(dtype=np.float64)
t2 = time.monotonic()
print(f"pandas typed {t1 - t0:.4f}")
print(f"pandas tensor {t2 - t1:.4f}")

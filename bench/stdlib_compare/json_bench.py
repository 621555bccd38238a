"""The Python side of std.json's benchmark: the same document with json, and with orjson when
it is installed. Prints what json_bench.noodle prints, then orjson's timings."""
import json
import sys
import time

text = open(sys.argv[1], encoding="utf-8").read()
t0 = time.monotonic()
doc = json.loads(text)
t1 = time.monotonic()
out = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
t2 = time.monotonic()
print(f"records {len(doc['records'])} encoded {len(out)}")
print(f"parse {t1 - t0:.4f}")
print(f"encode {t2 - t1:.4f}")
try:
    import orjson
except ImportError:
    sys.exit(0)
b = text.encode()
t0 = time.monotonic()
doc = orjson.loads(b)
t1 = time.monotonic()
out = orjson.dumps(doc)
t2 = time.monotonic()
print(f"orjson parse {t1 - t0:.4f}")
print(f"orjson encode {t2 - t1:.4f}")

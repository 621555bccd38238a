"""The Python side of std.re's benchmark: the same log and patterns with CPython's re."""
import re
import sys
import time

text = open(sys.argv[1], encoding="utf-8").read()
ip = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
# (?: ) so that findall gives whole matches, as std.re's find_all does
slow = re.compile(r"took (?:\d{4,})ms status=5\d\d")
t0 = time.monotonic()
ips = ip.findall(text)
t1 = time.monotonic()
slows = slow.findall(text)
t2 = time.monotonic()
print(f"ips {len(ips)} last {ips[-1]} slow {len(slows)}")
print(f"ip {t1 - t0:.4f}")
print(f"rare {t2 - t1:.4f}")

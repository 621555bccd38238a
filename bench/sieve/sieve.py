# The same program as sieve.noodle, for CPython.
import math

n = 5000000
sieve = [True] * (n + 1)
sieve[0] = False
sieve[1] = False
i = 2
while i * i <= n:
    if sieve[i]:
        j = i * i
        while j <= n:
            sieve[j] = False
            j += i
    i += 1
primes = []
for k in range(n + 1):
    if sieve[k]:
        primes.append(k)
total = 0
for p in primes:
    total += p
roots = []
for p in primes:
    roots.append(math.sqrt(float(p)))
root_sum = 0.0
for r in roots:
    root_sum += r
print(len(primes))
print(total)
print(f"{root_sum:.3f}")

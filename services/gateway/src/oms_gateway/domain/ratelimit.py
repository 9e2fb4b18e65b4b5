"""Token buckets: a burst allowance that refills at a steady rate, one bucket per caller.

In-process and per replica: N replicas let through up to N times the rate. It keeps one noisy
client from starving the others; a shared limit would need Redis or similar.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, *, rate_per_second: float, burst: int, max_keys: int = 10_000) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate and burst must be positive")
        self.rate = rate_per_second
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """Take one token for `key` at monotonic time `now`: 0.0 if allowed, else seconds to wait."""
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket  # most recently used last
        while len(self._buckets) > self.max_keys:
            # A bucket nobody used for a while is full anyway: forgetting it changes nothing.
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

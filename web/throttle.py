"""Token-bucket rate limits, one table per app: per address for every request before any work (the guard),
per address for failed sign-ins and authentications (:class:`Failures`), and whatever else the app counts (the
API: per client, per resident, per anonymous address).

Kept in the process: each worker enforces the limit on what it serves. A deployment with several workers
divides a rate among them or puts the limit in front (the gateway). A bucket that has refilled is the same as
no bucket, so idle buckets are dropped (``prune``, run as buckets are taken), and the table never holds more
than ``max_buckets``: a flood of fresh addresses, or of failed sign-ins from them, cannot grow it without bound.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, max_buckets: int = 100_000, prune_every: int = 1024) -> None:
        # key -> (tokens, last refill, seconds to refill from empty)
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._lock = threading.Lock()
        self.max_buckets = max_buckets
        self._prune_every = prune_every
        self._takes = 0

    def _tokens(self, key: str, rate: float, burst: int, now: float) -> float:
        tokens, last, _ = self._buckets.get(key, (float(burst), now, 0.0))
        return min(float(burst), tokens + (now - last) * rate)

    def take(self, key: str, rate: float, burst: int) -> float:
        """Spend one token; 0.0 when allowed, else the seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            self._takes += 1
            if self._takes % self._prune_every == 0 or len(self._buckets) >= self.max_buckets:
                self._prune(now)
            tokens = self._tokens(key, rate, burst, now)
            full_after = burst / rate if rate > 0 else 3600.0
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now, full_after)
                return 0.0
            self._buckets[key] = (tokens, now, full_after)
            return (1.0 - tokens) / rate if rate > 0 else 60.0

    def blocked(self, key: str, rate: float, burst: int) -> float:
        """Without spending: the seconds until ``key`` has a token again (0.0 when it has one)."""
        now = time.monotonic()
        with self._lock:
            if key not in self._buckets:
                return 0.0
            tokens = self._tokens(key, rate, burst, now)
        return 0.0 if tokens >= 1.0 else ((1.0 - tokens) / rate if rate > 0 else 60.0)

    def _prune(self, now: float) -> None:
        """Drop every bucket that has refilled; if still full, the ones idle longest."""
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < v[2]}
        if len(self._buckets) >= self.max_buckets:
            keep = sorted(self._buckets.items(), key=lambda kv: kv[1][1])[len(self._buckets) // 2:]
            self._buckets = dict(keep)

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(wait: float) -> int:
    """The whole seconds of a Retry-After header for a wait of ``wait`` seconds (at least 1)."""
    return max(1, int(wait + 0.999))


class Failures:
    """Failed sign-ins or authentications per address, as buckets of the app's limiter: an address that has
    spent its ``burst`` waits ``1 / rate`` seconds for each next try. The memory is the limiter's, so bounded."""

    def __init__(self, limiter: RateLimiter, rate_per_second: float, burst: int) -> None:
        self.limiter, self.rate, self.burst = limiter, rate_per_second, burst

    def wait(self, address: str) -> float:
        """Seconds before ``address`` may try again (0.0: now); checked before any credential is."""
        return self.limiter.blocked(f"authfail:{address}", self.rate, self.burst)

    def failed(self, address: str) -> None:
        self.limiter.take(f"authfail:{address}", self.rate, self.burst)

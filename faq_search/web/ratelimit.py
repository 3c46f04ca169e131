"""Token buckets per client: a small, in-memory rate limiter.

Each key (client address + limit name) owns a bucket of ``burst`` tokens refilled at ``rate`` per
second; a request takes one token or is refused with the seconds until the next one.

State lives in the process. Under gunicorn every worker keeps its own buckets, so a client spread
over N workers may get up to N times the rate (docs/operations.md says why that is accepted).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, per_minute: float, burst: float | None = None, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        """``per_minute`` tokens per minute (> 0); ``burst`` bucket size, default ``per_minute``.
        At most ``max_keys`` buckets are kept; the least recently used one is dropped first."""
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else per_minute)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key → (tokens, time)
        self._lock = threading.Lock()

    def take(self, key: Hashable) -> float:
        """Take a token for ``key``: 0.0 when allowed, else the seconds to wait (> 0)."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)  # re-insert: most recently used last
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)

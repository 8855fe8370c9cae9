"""What can go wrong between recon and Starship, on purpose: the sandbox's fault options.

Every fault is drawn from one seeded random source, so a test that turns a fault on sees the
same sequence of failures on every run (given the same order of requests).
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Fault injection; all off by default.

    Rates are probabilities per request, in [0, 1]. Network-ish faults (`error_rate`,
    `slow_rate`, `latency_ms`) strike after the request was handled, as a lost response would:
    a POST /orders whose answer is lost has still created the order, which is exactly when an
    Idempotency-Key saves the partner from paying twice.
    """

    latency_ms: int = 0  # added to every response
    error_rate: float = 0.0  # 500/502/503/504; the gateway ones with an HTML body
    slow_rate: float = 0.0  # the response stalls for `slow_seconds` (past a client timeout)
    slow_seconds: float = 5.0
    throttle_rate: float = 0.0  # a 429 storm: answered 429 before any work is done
    throttle_retry_after: int = 1  # seconds the storm's 429s ask the client to wait
    page_drift: int = 0  # orders inserted into a listing while a client pages it
    numeric_amounts: bool = False  # amounts as JSON numbers (34.70) instead of strings ("34.70")
    extra_fields: bool = False  # unknown keys at every level of every answer
    new_enum_values: bool = False  # sub-statuses and transaction types the docs never listed
    field_aliases: bool = False  # `id`, `amount`, `subStatus` instead of the documented names
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "slow_rate", "throttle_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def strikes(self, rate: float) -> bool:
        """Whether a fault of probability `rate` happens to this request."""
        if rate <= 0.0:
            return False
        with self._lock:
            return self._random.random() < rate

    def pick(self, choices: tuple[int, ...]) -> int:
        with self._lock:
            return self._random.choice(choices)


@dataclass
class TokenBucket:
    """The rate limit: `rate` requests a second on average, bursts of up to `burst`."""

    rate: float
    burst: int
    _tokens: float = field(init=False)
    _updated: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)
        self._updated = time.monotonic()

    def take(self) -> float:
        """0.0 when the request may go; else the seconds until a token is free."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


def retry_after_seconds(wait: float) -> int:
    """Retry-After carries whole seconds; never ask for less than one."""
    return max(1, math.ceil(wait))

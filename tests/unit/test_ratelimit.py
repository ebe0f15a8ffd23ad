"""The local token bucket: bursts up to its size, then refills at the configured rate."""

from __future__ import annotations

from connectra.api.ratelimit import TokenBucketLimiter


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_is_allowed_then_refused_with_retry_after() -> None:
    clock = ManualClock()
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=3, clock=clock)
    decisions = [limiter.take("a") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    refused = decisions[-1]
    assert refused.headers()["Retry-After"] == "1"
    assert refused.headers()["X-RateLimit-Remaining"] == "0"


def test_tokens_refill_over_time_and_keys_are_independent() -> None:
    clock = ManualClock()
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=1, clock=clock)
    assert limiter.take("a").allowed
    assert not limiter.take("a").allowed
    assert limiter.take("b").allowed
    clock.now += 1.0
    assert limiter.take("a").allowed

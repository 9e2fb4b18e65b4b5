import pytest
from oms_gateway.domain.ratelimit import RateLimiter


def test_burst_then_refill_at_the_rate() -> None:
    limiter = RateLimiter(rate_per_second=2, burst=3)
    assert [limiter.take("ip", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("ip", 0.0) == pytest.approx(0.5)
    assert limiter.take("ip", 0.5) == 0.0  # one token refilled
    assert limiter.take("ip", 0.5) > 0


def test_callers_have_separate_buckets() -> None:
    limiter = RateLimiter(rate_per_second=1, burst=1)
    assert limiter.take("a", 0.0) == 0.0
    assert limiter.take("a", 0.0) > 0
    assert limiter.take("b", 0.0) == 0.0


def test_refill_never_exceeds_the_burst() -> None:
    limiter = RateLimiter(rate_per_second=10, burst=2)
    limiter.take("k", 0.0)
    assert [limiter.take("k", 1000.0) for _ in range(3)][-1] > 0


def test_forgets_least_recently_used_callers_beyond_the_cap() -> None:
    limiter = RateLimiter(rate_per_second=1, burst=1, max_keys=2)
    limiter.take("a", 0.0)
    limiter.take("b", 0.0)
    limiter.take("c", 0.0)
    assert limiter.take("a", 0.0) == 0.0  # "a" was forgotten: a fresh, full bucket
    assert limiter.take("c", 0.0) > 0


def test_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate_per_second=0, burst=1)

import pytest

from faq_search.web.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_burst_then_refusal_with_the_wait_until_the_next_token():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    clock.now += 0.5
    assert limiter.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("a") == 0.0


def test_clients_have_separate_buckets():
    limiter = RateLimiter(per_minute=60, burst=1, clock=Clock())
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


def test_refill_never_exceeds_the_burst():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    limiter.take("a")
    clock.now += 3600
    assert [limiter.take("a") == 0.0 for _ in range(3)] == [True, True, False]


def test_refused_requests_do_not_earn_credit():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock)
    limiter.take("a")
    for _ in range(100):  # hammering while refused must not push the next token further away
        assert 0 < limiter.take("a") <= 1.0


def test_memory_is_bounded_by_dropping_the_least_recently_used():
    limiter = RateLimiter(per_minute=60, burst=1, max_keys=3, clock=Clock())
    for key in "abcd":
        limiter.take(key)
    assert len(limiter) == 3
    assert limiter.take("a") == 0.0  # "a" was dropped, so it starts with a full bucket
    assert limiter.take("d") > 0


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        RateLimiter(per_minute=0)

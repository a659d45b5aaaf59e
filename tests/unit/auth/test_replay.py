"""The jti replay cache (issue 12; ADR 0008): a jti is refused while remembered, forgotten
once its token has expired, and a full cache refuses new tokens rather than forgetting a
live jti (fail closed). Times are given, not read from a clock."""

from __future__ import annotations

from service.auth.replay import ReplayCache

ISS = "https://ehr.example"


def test_a_jti_is_accepted_once_while_its_token_lives() -> None:
    cache = ReplayCache(10)
    assert cache.add(ISS, "a", forget_after=1060, now=1000) is None
    assert cache.add(ISS, "a", forget_after=1060, now=1001) == "jti already used"
    assert cache.add("https://other.example", "a", forget_after=1060, now=1001) is None


def test_a_jti_is_forgotten_after_its_token_expires() -> None:
    cache = ReplayCache(10)
    cache.add(ISS, "a", forget_after=1060, now=1000)
    assert cache.add(ISS, "a", forget_after=2000, now=1060) == "jti already used"  # boundary
    assert cache.add(ISS, "a", forget_after=2000, now=1061) is None
    assert len(cache) == 1


def test_a_full_cache_refuses_rather_than_forgets() -> None:
    cache = ReplayCache(2)
    cache.add(ISS, "a", forget_after=1060, now=1000)
    cache.add(ISS, "b", forget_after=1090, now=1000)
    assert "full" in (cache.add(ISS, "c", forget_after=1100, now=1010) or "")
    assert cache.add(ISS, "a", forget_after=1100, now=1010) == "jti already used"
    assert cache.add(ISS, "c", forget_after=1100, now=1061) is None  # a expired: room again
    assert len(cache) == 2

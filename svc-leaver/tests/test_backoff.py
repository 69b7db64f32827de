"""Retry timing: exponential backoff with full jitter, capped; Retry-After wins up to 60 s."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from svc_leaver.backoff import backoff_ceiling_ms, next_delay
from svc_leaver.clients.base import parse_retry_after
from svc_leaver.config import RetryPolicy

POLICY = RetryPolicy(attempts=6, base_delay_ms=200, max_delay_ms=1000)


def test_the_ceiling_doubles_from_the_base_delay_up_to_the_cap():
    assert [backoff_ceiling_ms(POLICY, n) for n in range(1, 6)] == [200, 400, 800, 1000, 1000]


@pytest.mark.parametrize("failed_tries", [1, 2, 3, 4, 5])
def test_full_jitter_draws_between_zero_and_the_ceiling(failed_tries):
    rng = random.Random(failed_tries)
    delays = [next_delay(POLICY, failed_tries, None, rng).seconds for _ in range(500)]
    ceiling = backoff_ceiling_ms(POLICY, failed_tries) / 1000
    assert all(0 <= delay <= ceiling for delay in delays)
    # Full jitter spreads over the whole range, not just near the ceiling.
    assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9


def test_retry_after_wins_over_the_cap_up_to_sixty_seconds():
    assert next_delay(POLICY, 1, 7.0).seconds == 7.0
    assert next_delay(POLICY, 1, 60.0).seconds == 60.0
    refused = next_delay(POLICY, 1, 61.0)
    assert refused.give_up and "Retry-After" in refused.give_up


def test_no_further_try_once_the_attempts_are_used_up():
    assert next_delay(POLICY, 6, None).give_up == "gave up after 6 tries"
    assert next_delay(POLICY, 5, None).give_up is None


def test_retry_after_is_read_as_seconds_or_an_http_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    moment = datetime.now(UTC) + timedelta(seconds=30)
    assert 28 <= parse_retry_after(format_datetime(moment, usegmt=True)) <= 30

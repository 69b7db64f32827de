"""When to try a failing vendor request again: exponential backoff with full jitter, or the vendor's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass

from svc_leaver.config import RetryPolicy

# A Retry-After longer than this is not waited for: the target fails instead.
MAX_RETRY_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class Delay:
    """How long to wait before the next try, or why not to try again (``give_up``)."""

    seconds: float
    give_up: str | None = None


def backoff_ceiling_ms(policy: RetryPolicy, failed_tries: int) -> float:
    """The upper bound of the jittered wait after ``failed_tries`` failures (1 after the first)."""
    return min(policy.max_delay_ms, policy.base_delay_ms * 2 ** (failed_tries - 1))


def next_delay(
    policy: RetryPolicy, failed_tries: int, retry_after: float | None, rng: random.Random | None = None
) -> Delay:
    """The wait after ``failed_tries`` failed tries: Retry-After when given (up to 60 s), else full jitter."""
    if failed_tries >= policy.attempts:
        return Delay(0.0, give_up=f"gave up after {failed_tries} tries")
    if retry_after is not None:
        if retry_after > MAX_RETRY_AFTER_SECONDS:
            return Delay(
                0.0, give_up=f"Retry-After of {retry_after:g} s exceeds {MAX_RETRY_AFTER_SECONDS:g} s"
            )
        return Delay(retry_after)
    ceiling = backoff_ceiling_ms(policy, failed_tries)
    return Delay((rng or random).uniform(0, ceiling) / 1000.0)

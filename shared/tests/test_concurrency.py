"""vendorkit.testing.concurrency.at_once: the calls race, their results come back in order, errors are not lost."""

import threading
import time
from functools import partial

import pytest

from vendorkit.testing.concurrency import at_once


def test_results_come_back_in_the_order_of_the_calls():
    assert at_once(*(partial(pow, 2, exponent) for exponent in range(5))) == [1, 2, 4, 8, 16]


def test_every_call_runs_while_the_others_do():
    # Each call waits for all of them: calls run one after another would break this barrier.
    together = threading.Barrier(4, timeout=5)
    assert sorted(at_once(*[together.wait] * 4)) == [0, 1, 2, 3]


def test_an_error_is_raised_once_every_call_has_finished():
    finished = []

    def fail():
        raise ValueError("refused")

    def slow():
        time.sleep(0.1)
        finished.append("slow")

    with pytest.raises(ValueError, match="refused"):
        at_once(fail, slow)
    assert finished == ["slow"]

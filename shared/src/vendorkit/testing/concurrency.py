"""Race requests against each other: the one way the services' tests start calls at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def at_once(*calls: Callable[[], Any], timeout: float = 60.0) -> list[Any]:
    """Run ``calls`` each on a thread of its own, released together; their results, in the order given.

    A barrier holds every thread until all are ready, so the calls overlap as
    closely as threads allow. A call that raises makes ``at_once`` raise the
    first such error once every thread has finished. ``at_once(*[delete] * 4)``
    races four identical calls; ``functools.partial`` gives each its own arguments.
    """
    start = threading.Barrier(len(calls), timeout=timeout)
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = calls[index]()
        except BaseException as error:  # handed to the caller's thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results

"""Schemathesis over every documented operation of a service, failures gathered across operations.

``make test`` runs a few dozen examples per operation; ``make fuzz`` raises
``FUZZ_EXAMPLES`` for the long run. A service's suite subclasses
``EveryOperationThroughGateway`` and states only what is its vendor's own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

# How a message is framed on the wire is the HTTP layer's business, never an API's: a generated
# value there only tests the servers' parsers (the gateway's own tests do that).
FRAMING_HEADERS = frozenset({"transfer-encoding", "content-length", "connection", "host", "te", "upgrade"})


# What the gateway's HTTP layer answers a request it refuses before any API sees it (an
# over-long request line): a rejection of a schema-violating request as good as a 400.
GATEWAY_REJECTIONS = (414,)


def gateway_schema(service_url: str, gateway_url: str) -> Any:
    """The service's OpenAPI document, as the service itself serves it, aimed at its gateway."""
    schema = schemathesis.openapi.from_url(f"{service_url}/openapi.json")
    schema.config.update(base_url=gateway_url)
    rejection = schema.config.checks.negative_data_rejection
    schema.config.checks.negative_data_rejection = type(rejection)(
        expected_statuses=[*rejection.expected_statuses, *GATEWAY_REJECTIONS]
    )
    return schema


def refusing_vendor_checks(mode: GenerationMode) -> list[Any]:
    """The checks left out for a vendor that refuses (4xx) well-formed requests it cannot honour.

    ``positive_data_acceptance`` wants every schema-valid request answered
    2xx, which no vendor here does (an unknown user, a wrong old password);
    the document lists those refusals and the other checks hold them to it.
    ``negative_data_rejection`` has nothing to check in schema-valid requests.
    """
    excluded: list[Any] = [positive_data_acceptance]
    if mode is GenerationMode.POSITIVE:
        excluded.append(negative_data_rejection)
    return excluded


class RenewingLogin:
    """The headers of a login that generated requests may end, logged in again when one may have.

    ``log_in()`` logs in and answers the headers that carry the session;
    ``ends_session(path)`` says whether a call to ``path`` may have ended it.
    """

    def __init__(self, log_in: Callable[[], dict[str, str]], ends_session: Callable[[str], bool]):
        self.log_in = log_in
        self.ends_session = ends_session
        self.current: dict[str, str] | None = None

    def headers(self) -> dict[str, str]:
        """The session's headers, logging in first when there is none."""
        if self.current is None:
            self.current = self.log_in()
        return self.current

    def after(self, path: str) -> None:
        """Forget the session after a call to ``path`` that may have ended it."""
        if self.ends_session(path):
            self.current = None


def randomized() -> bool:
    """Whether generation varies from run to run: only in the long run (``make fuzz``); ``make test`` repeats itself."""
    return "FUZZ_EXAMPLES" in os.environ


def examples_per_operation(default: int) -> int:
    """How many requests to generate per operation: ``FUZZ_EXAMPLES``, else ``default``."""
    return int(os.environ.get("FUZZ_EXAMPLES", default))


def fuzz_every_operation(
    schema: Any, mode: GenerationMode, exercise: Callable[[Any], None], *, examples: int
) -> list[str]:
    """Run ``exercise(case)`` on ``examples`` generated cases of each operation; one line per failing operation.

    In the negative mode an operation with nothing to make invalid (no input, or
    no invalid value schemathesis can send) is passed over, not failed.
    """
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        inputs = (operation.path_parameters, operation.query, operation.headers, operation.body)
        if mode is GenerationMode.NEGATIVE and not any(len(part) for part in inputs):
            continue

        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=not randomized(),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def answers_as_documented(case):
            if case.headers:
                case.headers = {k: v for k, v in case.headers.items() if k.lower() not in FRAMING_HEADERS}
            exercise(case)

        try:
            answers_as_documented()
        except Unsatisfiable:
            if mode is not GenerationMode.NEGATIVE:
                failures.append(f"{operation.label}: no valid request could be generated")
        except Exception as failure:  # one operation's failure must not hide the others'
            failures.append(f"{operation.label}: {failure}")
    return failures


class EveryOperationThroughGateway:
    """Schemathesis over every documented operation of one service, on a database and behind a gateway of its own.

    A service's test module subclasses it (as ``Test...``) and states only what is
    its vendor's own: ``service`` (the stack's route name), ``examples`` per
    operation, ``settings`` for the service's environment, ``operations`` (a path
    regex, when not every documented path is fuzzed), ``log_in`` and ``exercise``.
    Generated data is sent as-is, hence the private service and database.
    """

    service: str
    examples: int = 10
    settings: dict[str, str] = {}
    operations: str | None = None

    def log_in(self, gateway_url: str) -> Any:
        """The caller's login through the private gateway, handed to ``exercise``; none by default."""
        return None

    def exercise(self, case: Any, login: Any, mode: GenerationMode) -> None:
        """Send ``case`` and hold the answer to the document: by default, every check a refusing vendor passes."""
        case.call_and_validate(excluded_checks=refusing_vendor_checks(mode))

    @pytest.fixture(scope="class")
    @classmethod
    def fuzzed(cls, stack, tmp_path_factory) -> Iterator[tuple[Any, str]]:
        """The service's document as it serves it, aimed at its private gateway, and that gateway's URL."""
        workdir = tmp_path_factory.mktemp(f"{cls.service}-fuzz")
        database = f"{cls.service}_fuzz"
        with stack.private(cls.service, workdir, database, **cls.settings) as (service, gateway):
            schema = gateway_schema(service.url, gateway.url)
            if cls.operations is not None:
                schema = schema.include(path_regex=cls.operations)
            yield schema, gateway.url

    @pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
    def test_every_operation_answers_as_documented(self, fuzzed, mode):
        """Every generated request of every operation gets an answer the document allows."""
        schema, gateway_url = fuzzed
        login = self.log_in(gateway_url)
        examples = examples_per_operation(self.examples)
        failures = fuzz_every_operation(
            schema, mode, lambda case: self.exercise(case, login, mode), examples=examples
        )
        assert not failures, "\n\n".join(failures)

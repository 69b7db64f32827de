"""svc-leaver's refusals: RFC 9457 problem details, raised as exceptions."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from vendorkit.dialects.problem import problem


class Problem(Exception):
    """A refusal rendered as ``application/problem+json``."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any):
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extensions = status, detail, headers, extensions

    def response(self) -> Response:
        return problem(self.status, self.detail, headers=self.headers, **self.extensions)


def invalid(errors: dict[str, str]) -> Problem:
    """400 naming every bad field in ``detail`` and mapping each to its message in ``errors``."""
    fields = ", ".join(errors)
    return Problem(400, f"Invalid request: {fields}", errors=errors)


def unauthorized() -> Problem:
    return Problem(
        401,
        "A valid API token is required (Authorization: Bearer <token>)",
        headers={"WWW-Authenticate": "Bearer"},
    )


def run_not_found(run_id: str) -> Problem:
    return Problem(404, f"No run with id {run_id}")

"""Fixtures of svc-agenda's end-to-end tests: every answer from the AKTION.NEXT API is held to the
service's OpenAPI document, and a private svc-agenda behind a gateway of its own for tests that write freely."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from vendorkit.testing import HttpResult, http_request
from vendorkit.testing.openapi import check_result, served_openapi

API = "/AktionNEXT/API"


class DocumentedRequests:
    """``http_request`` whose answers under /AktionNEXT/API/ must be ones the OpenAPI document allows."""

    def __init__(self) -> None:
        self.openapi: dict[str, Any] | None = None

    def __call__(self, method: str, url: str, **kwargs: Any) -> HttpResult:
        result = http_request(method, url, **kwargs)
        path = urlsplit(url).path
        if not path.lower().startswith(API.lower() + "/"):
            return result
        assert self.openapi is not None, "request the agenda_openapi fixture before calling the API"
        return check_result(
            self.openapi, method, path, result, fallback_schema="BaseResp", fallback_xml_root="Response"
        )


api_request = DocumentedRequests()


@pytest.fixture(scope="session")
def agenda_openapi(stack) -> dict[str, Any]:
    """The OpenAPI document of the stack's svc-agenda; from now on api_request checks against it."""
    api_request.openapi = served_openapi(stack.start("agenda").url)
    return api_request.openapi

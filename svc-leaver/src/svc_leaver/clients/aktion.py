"""AKTION.NEXT web API: log in with an API key for a short-lived Token, then ``POST user/remove``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from svc_leaver.clients.base import Answer, Request, RequestKind, VendorClient, Verdict, expiry_after

# 401 codes: token not issued (1000) or expired (1001); 1008: the account's rate policy.
SESSION_CODES = frozenset({1000, 1001})
RATE_LIMITED_CODE = 1008
NOT_FOUND_CODE = 1400
SYSTEM_USER_CODE = 1402
# Tokens live 20 s unless the login answer says otherwise.
TOKEN_LIFETIME = 20
JSON_HEADERS = {"Accept": "application/json"}


@dataclass
class AktionClient(VendorClient):
    """A soft delete of the user; ``404``/1400 also covers system users, which the API never removes."""

    name = "aktion"
    # Tokens are short-lived: ask for a new one a little before.
    expiry_margin = 2.0

    def code_and_message(self, body: dict[str, Any]) -> tuple[Any, str | None]:
        result = body.get("Result")
        return (result.get("Code"), result.get("Message")) if isinstance(result, dict) else (None, None)

    def vendor_rate_limited(self, answer: Answer) -> bool:
        return answer.status == 401 and answer.code == RATE_LIMITED_CODE

    def login_request(self) -> Request:
        credentials = {"UserLogin": self.username, "ApiKey": self.secret}
        return Request("POST", "/login", json=credentials, headers=JSON_HEADERS)

    def issued_token(self, answer: Answer) -> Any:
        return answer.member("Token")

    def session_expiry(self, token: str, answer: Answer) -> float:
        return expiry_after(answer.member("ExpireInSec"), TOKEN_LIFETIME)

    def authorize(self, kind: RequestKind, request: Request) -> Request:
        return request.adding(params={"Token": self.token or ""})

    def session_expired(self, answer: Answer) -> bool:
        return answer.status == 401 and answer.code in SESSION_CODES

    def lookup_request(self, account: str) -> Request:
        return Request("GET", "/user/get", params={"LoginName": account}, headers=JSON_HEADERS)

    def lookup_verdict(self, account: str, answer: Answer) -> Verdict | None:
        if answer.status == 200 and answer.code == 0:
            return Verdict("would_remove", f"user {answer.member('UserName') or account}")
        return Verdict("not_found") if answer.code in (NOT_FOUND_CODE, SYSTEM_USER_CODE) else None

    def remove_request(self, account: str) -> Request:
        return Request("POST", "/user/remove", headers=JSON_HEADERS, json={"LoginName": account})

    def removal_verdict(self, account: str, answer: Answer) -> Verdict | None:
        if answer.status == 200 and answer.code == 0:
            return Verdict("done")
        return Verdict("not_found") if answer.status == 404 and answer.code == NOT_FOUND_CODE else None

"""AKTION.NEXT web API: log in with an API key for a short-lived Token, then ``POST user/remove``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from svc_leaver.clients.base import Answer, LoginFailed, Outcome, Unavailable, VendorClient, json_or_none

# 401 codes: token not issued (1000) or expired (1001); 1008: the account's rate policy.
SESSION_CODES = frozenset({1000, 1001})
RATE_LIMITED_CODE = 1008
NOT_FOUND_CODE = 1400
SYSTEM_USER_CODE = 1402
# Tokens live 20 s by default; ask for a new one a little before.
EXPIRY_MARGIN = 2.0
JSON_HEADERS = {"Accept": "application/json"}


@dataclass
class AktionClient(VendorClient):
    """A soft delete of the user; ``404``/1400 also covers system users, which the API never removes."""

    name = "aktion"
    token: str | None = field(default=None, init=False, repr=False)
    expires: float = field(default=0.0, init=False)

    def parse(self, response: httpx.Response) -> Answer:
        body = json_or_none(response)
        code = message = None
        result = body.get("Result") if isinstance(body, dict) else None
        if isinstance(result, dict):
            code, message = result.get("Code"), result.get("Message")
        return Answer(status=response.status_code, code=code, message=message, body=body)

    def vendor_rate_limited(self, answer: Answer) -> bool:
        return answer.status == 401 and answer.code == RATE_LIMITED_CODE

    def login(self) -> None:
        credentials = {"UserLogin": self.username, "ApiKey": self.secret}
        answer = self.send("login", "POST", "/login", json=credentials, headers=JSON_HEADERS)
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status == 200 and isinstance(body.get("Token"), str):
            self.token = body["Token"]
            lifetime = body.get("ExpireInSec")
            self.expires = time.time() + (lifetime if isinstance(lifetime, int | float) else 20)
            return
        if self.transient(answer):
            raise Unavailable(answer, rate_limited=self.vendor_rate_limited(answer) or answer.status == 429)
        raise LoginFailed(answer)

    def has_session(self) -> bool:
        return self.token is not None and time.time() < self.expires - EXPIRY_MARGIN

    def drop_session(self) -> None:
        self.token = None

    def session_expired(self, answer: Answer) -> bool:
        return answer.status == 401 and answer.code in SESSION_CODES

    def lookup(self, account: str) -> Outcome:
        result = self.call(
            "lookup",
            lambda repeat: self.send(
                "lookup",
                "GET",
                "/user/get",
                repeat=repeat,
                params={"LoginName": account, "Token": self.token or ""},
                headers=JSON_HEADERS,
            ),
        )
        if isinstance(result, Outcome):
            return result
        if result.status == 200 and result.code == 0:
            body = result.body if isinstance(result.body, dict) else {}
            return Outcome("would_remove", result, detail=f"user {body.get('UserName') or account}")
        if result.code in (NOT_FOUND_CODE, SYSTEM_USER_CODE):
            return Outcome("not_found", result, detail=result.message)
        return Outcome("failed", result, detail=result.message)

    def remove(self, account: str, *, removal_sent_before: bool = False) -> Outcome:
        result = self.call(
            "remove",
            lambda repeat: self.send(
                "remove",
                "POST",
                "/user/remove",
                repeat=repeat,
                params={"Token": self.token or ""},
                headers=JSON_HEADERS,
                json={"LoginName": account},
            ),
        )
        if isinstance(result, Outcome):
            return result
        if result.status == 200 and result.code == 0:
            return Outcome("done", result, detail=result.message)
        if result.status == 404 and result.code == NOT_FOUND_CODE:
            if removal_sent_before:
                return Outcome("done", result, detail="already removed by this run")
            return Outcome("not_found", result, detail=result.message)
        return Outcome("failed", result, detail=result.message)

"""DNL softswitch API v1: log in for an X-Auth-Token, then bulk-delete the users with one e-mail address."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from svc_leaver.clients._jwt import expiry_of
from svc_leaver.clients.base import (
    Answer,
    LoginFailed,
    Outcome,
    Unavailable,
    VendorClient,
    count_of,
    json_or_none,
)

# 401 codes meaning the token is missing, invalid (user gone, signature) or expired.
SESSION_CODES = frozenset({110, 111, 112})
EXPIRY_MARGIN = 5.0


@dataclass
class DnlClient(VendorClient):
    """``DELETE /user/all?email=...``; the configured account's own address is never sent."""

    name = "dnl"
    token: str | None = field(default=None, init=False, repr=False)
    expires: float = field(default=0.0, init=False)
    own_email: str | None = field(default=None, init=False)

    def parse(self, response: httpx.Response) -> Answer:
        body = json_or_none(response)
        code = message = None
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                code, message = error.get("code"), error.get("message")
            if message is None and isinstance(body.get("error_type"), str):
                message = body["error_type"]
        return Answer(status=response.status_code, code=code, message=message, body=body)

    def login(self) -> None:
        credentials = {"email_or_name": self.username, "password": self.secret}
        answer = self.send("login", "POST", "/auth", json=credentials)
        payload = answer.body.get("payload") if isinstance(answer.body, dict) else None
        if answer.status == 200 and isinstance(payload, dict) and isinstance(payload.get("token"), str):
            self.token = payload["token"]
            self.expires = expiry_of(self.token) or (time.time() + 3600)
            user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
            self.own_email = user.get("email")
            return
        if self.transient(answer):
            raise Unavailable(answer, rate_limited=answer.status == 429)
        raise LoginFailed(answer)

    def has_session(self) -> bool:
        return self.token is not None and time.time() < self.expires - EXPIRY_MARGIN

    def drop_session(self) -> None:
        self.token = None

    def session_expired(self, answer: Answer) -> bool:
        return answer.status == 401 and answer.code in SESSION_CODES

    def _is_own_address(self, account: str) -> bool | Outcome:
        failure = self.ensure_session()
        if failure is not None:
            return failure
        return self.own_email is not None and account == self.own_email

    def lookup(self, account: str) -> Outcome:
        own = self._is_own_address(account)
        if isinstance(own, Outcome):
            return own
        if own:
            return Outcome("not_found", None, detail="the configured account's own address is never deleted")
        result = self.call(
            "lookup",
            lambda repeat: self.send(
                "lookup",
                "GET",
                "/user/list",
                repeat=repeat,
                params={"email": account, "per_page": 1},
                headers={"X-Auth-Token": self.token or ""},
            ),
        )
        if isinstance(result, Outcome):
            return result
        payload = result.body.get("payload") if isinstance(result.body, dict) else None
        if result.status == 200 and isinstance(payload, dict):
            total = payload.get("total", 0)
            if total:
                return Outcome("would_remove", result, detail=count_of(total, "user"))
            return Outcome("not_found", result, detail=count_of(0, "user"))
        return Outcome("failed", result, detail=result.message)

    def remove(self, account: str, *, removal_sent_before: bool = False) -> Outcome:
        own = self._is_own_address(account)
        if isinstance(own, Outcome):
            return own
        if own:
            return Outcome("not_found", None, detail="the configured account's own address is never deleted")
        result = self.call(
            "remove",
            lambda repeat: self.send(
                "remove",
                "DELETE",
                "/user/all",
                repeat=repeat,
                params={"email": account},
                headers={"X-Auth-Token": self.token or ""},
            ),
        )
        if isinstance(result, Outcome):
            return result
        payload = result.body.get("payload") if isinstance(result.body, dict) else None
        if result.status == 200 and isinstance(payload, dict):
            deleted = payload.get("deleted", 0)
            if deleted:
                return Outcome("done", result, detail=f"{count_of(deleted, 'user')} deleted")
            if removal_sent_before:
                return Outcome("done", result, detail="already removed by this run")
            return Outcome("not_found", result, detail=f"{count_of(0, 'user')} deleted")
        return Outcome("failed", result, detail=result.message)

"""grommunio admin API: log in for a cookie and CSRF token, then mark every device of a user for wiping.

The removal is one ``POST /service/wipe/{user}`` without ``devices`` (so every device the user
has); a read of the user's devices afterwards says how many it marked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import quote

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

# Device status 2: wipe pending (the device wipes itself at its next sync).
WIPE_PENDING = 2
# Reasons the API gives when the session (cookie or CSRF token) is not accepted.
TOKEN_PROBLEMS = frozenset(
    {
        "No token provided",
        "Token has expired",
        "Invalid token signature",
        "invalid token",
        "Invalid or missing CSRF token",
        "Invalid user",
    }
)
# Log in again this long before the token's own expiry.
EXPIRY_MARGIN = 5.0


@dataclass
class GrommunioClient(VendorClient):
    """``POST /service/wipe/{user}`` with status 2 for all of a user's devices, as the administrator."""

    name = "grommunio"
    token: str | None = field(default=None, init=False, repr=False)
    csrf: str | None = field(default=None, init=False, repr=False)
    expires: float = field(default=0.0, init=False)

    def parse(self, response: httpx.Response) -> Answer:
        body = json_or_none(response)
        message = body.get("message") if isinstance(body, dict) else None
        return Answer(status=response.status_code, message=message, body=body)

    def login(self) -> None:
        answer = self.send("login", "POST", "/login", data={"user": self.username, "pass": self.secret})
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status == 200 and isinstance(body.get("grommunioAuthJwt"), str):
            self.token, self.csrf = body["grommunioAuthJwt"], body.get("csrf")
            self.expires = expiry_of(self.token) or (time.time() + 3600)
            return
        if self.transient(answer):
            raise Unavailable(answer, rate_limited=answer.status == 429)
        raise LoginFailed(answer)

    def has_session(self) -> bool:
        return self.token is not None and time.time() < self.expires - EXPIRY_MARGIN

    def drop_session(self) -> None:
        self.token = self.csrf = None

    def session_expired(self, answer: Answer) -> bool:
        # Login-required endpoints say 401 {"message": "Access denied", "error": <reason>}; the wipe
        # endpoints, whose login is optional, 403 "Access denied: <reason>".
        if answer.status == 401:
            return True
        message = answer.message or ""
        return answer.status == 403 and message.removeprefix("Access denied: ") in TOKEN_PROBLEMS

    def _path(self, account: str) -> str:
        return f"/service/wipe/{quote(account, safe='@')}"

    def _headers(self, *, write: bool) -> dict[str, str]:
        headers = {"Cookie": f"grommunioAuthJwt={self.token}"}
        if write and self.csrf:
            headers["X-Csrf-Token"] = self.csrf
        return headers

    def _devices(self, account: str) -> Answer | Outcome:
        return self.call(
            "lookup",
            lambda repeat: self.send(
                "lookup", "GET", self._path(account), repeat=repeat, headers=self._headers(write=False)
            ),
        )

    @staticmethod
    def _device_count(answer: Answer) -> int:
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        return len(data) if isinstance(data, dict) else 0

    def lookup(self, account: str) -> Outcome:
        result = self._devices(account)
        if isinstance(result, Outcome):
            return result
        if result.status == 200:
            return Outcome("would_remove", result, detail=count_of(self._device_count(result), "device"))
        if result.status == 404:
            return Outcome("not_found", result, detail=result.message)
        return Outcome("failed", result, detail=result.message)

    def remove(self, account: str, *, removal_sent_before: bool = False) -> Outcome:
        result = self.call(
            "remove",
            lambda repeat: self.send(
                "remove",
                "POST",
                self._path(account),
                repeat=repeat,
                headers=self._headers(write=True),
                json={"status": WIPE_PENDING, "password": self.secret},
            ),
        )
        if isinstance(result, Outcome):
            return result
        if result.status == 201:
            return Outcome("done", result, detail=self._wiped_devices(account, result))
        if result.status == 404:
            return self._gone(result, removal_sent_before)
        return Outcome("failed", result, detail=result.message)

    def _wiped_devices(self, account: str, removal: Answer) -> str:
        """How many devices the removal marked, read back once (the 201 itself does not say)."""
        found = self._devices(account)
        if isinstance(found, Answer) and found.status == 200:
            return count_of(self._device_count(found), "device")
        return removal.message or "Success."

    @staticmethod
    def _gone(answer: Answer, removal_sent_before: bool) -> Outcome:
        if removal_sent_before:
            return Outcome("done", answer, detail="already removed by this run")
        return Outcome("not_found", answer, detail=answer.message)

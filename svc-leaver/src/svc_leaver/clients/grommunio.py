"""grommunio admin API: log in for a cookie and CSRF token, then mark every device of a user for wiping.

The removal is one ``POST /service/wipe/{user}`` without ``devices`` (so every device the user
has); a read of the user's devices afterwards says how many it marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from svc_leaver.clients.base import Answer, Request, RequestKind, VendorClient, Verdict, count_of

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


@dataclass
class GrommunioClient(VendorClient):
    """``POST /service/wipe/{user}`` with status 2 for all of a user's devices, as the administrator."""

    name = "grommunio"
    csrf: str | None = field(default=None, init=False, repr=False)

    def code_and_message(self, body: dict[str, Any]) -> tuple[Any, str | None]:
        return None, body.get("message")

    def login_request(self) -> Request:
        return Request("POST", "/login", data={"user": self.username, "pass": self.secret})

    def issued_token(self, answer: Answer) -> Any:
        return answer.member("grommunioAuthJwt")

    def start_session(self, answer: Answer) -> bool:
        if not super().start_session(answer):
            return False
        self.csrf = answer.member("csrf")
        return True

    def drop_session(self) -> None:
        super().drop_session()
        self.csrf = None

    def authorize(self, kind: RequestKind, request: Request) -> Request:
        headers = {"Cookie": f"grommunioAuthJwt={self.token}"}
        # Only the writing endpoints check the CSRF token.
        if kind == "remove" and self.csrf:
            headers["X-Csrf-Token"] = self.csrf
        return request.adding(headers=headers)

    def session_expired(self, answer: Answer) -> bool:
        # Login-required endpoints say 401 {"message": "Access denied", "error": <reason>}; the wipe
        # endpoints, whose login is optional, 403 "Access denied: <reason>".
        if answer.status == 401:
            return True
        message = answer.message or ""
        return answer.status == 403 and message.removeprefix("Access denied: ") in TOKEN_PROBLEMS

    def lookup_request(self, account: str) -> Request:
        return Request("GET", _wipe_path(account))

    def lookup_verdict(self, account: str, answer: Answer) -> Verdict | None:
        if answer.status == 200:
            return Verdict("would_remove", count_of(_device_count(answer), "device"))
        return Verdict("not_found") if answer.status == 404 else None

    def remove_request(self, account: str) -> Request:
        return Request("POST", _wipe_path(account), json={"status": WIPE_PENDING, "password": self.secret})

    def removal_verdict(self, account: str, answer: Answer) -> Verdict | None:
        if answer.status == 201:
            return Verdict("done", self._wiped_devices(account, answer))
        return Verdict("not_found") if answer.status == 404 else None

    def _wiped_devices(self, account: str, removal: Answer) -> str:
        """How many devices the removal marked, read back once (the 201 itself does not say)."""
        found = self.call("lookup", self.lookup_request(account))
        if isinstance(found, Answer) and found.status == 200:
            return count_of(_device_count(found), "device")
        return removal.message or "Success."


def _wipe_path(account: str) -> str:
    return f"/service/wipe/{quote(account, safe='@')}"


def _device_count(answer: Answer) -> int:
    data = answer.member("data")
    return len(data) if isinstance(data, dict) else 0

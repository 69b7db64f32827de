"""DNL softswitch API v1: log in for an X-Auth-Token, then bulk-delete the users with one e-mail address."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from svc_leaver.clients.base import Answer, Outcome, Request, RequestKind, VendorClient, Verdict, count_of

# 401 codes meaning the token is missing, invalid (user gone, signature) or expired.
SESSION_CODES = frozenset({110, 111, 112})


@dataclass
class DnlClient(VendorClient):
    """``DELETE /user/all?email=...``; the configured account's own address is never sent."""

    name = "dnl"
    own_email: str | None = field(default=None, init=False)

    def code_and_message(self, body: dict[str, Any]) -> tuple[Any, str | None]:
        error = body.get("error")
        code, message = (error.get("code"), error.get("message")) if isinstance(error, dict) else (None, None)
        if message is None and isinstance(body.get("error_type"), str):
            message = body["error_type"]
        return code, message

    def login_request(self) -> Request:
        return Request("POST", "/auth", json={"email_or_name": self.username, "password": self.secret})

    def issued_token(self, answer: Answer) -> Any:
        payload = answer.member("payload")
        return payload.get("token") if isinstance(payload, dict) else None

    def start_session(self, answer: Answer) -> bool:
        # The login answer also names the configured account, whose own address is never removed.
        if not super().start_session(answer):
            return False
        user = answer.member("payload").get("user")  # the payload is an object: it held the token
        self.own_email = user.get("email") if isinstance(user, dict) else None
        return True

    def authorize(self, kind: RequestKind, request: Request) -> Request:
        return request.adding(headers={"X-Auth-Token": self.token or ""})

    def session_expired(self, answer: Answer) -> bool:
        return answer.status == 401 and answer.code in SESSION_CODES

    def lookup(self, account: str) -> Outcome:
        return self._own_address(account) or super().lookup(account)

    def remove(self, account: str, *, removal_sent_before: bool = False) -> Outcome:
        return self._own_address(account) or super().remove(account, removal_sent_before=removal_sent_before)

    def _own_address(self, account: str) -> Outcome | None:
        """not_found for the configured account's own address, the failed login, or None to go on."""
        failure = self.ensure_session()
        if failure is not None:
            return failure
        if self.own_email is not None and account == self.own_email:
            return Outcome("not_found", None, detail="the configured account's own address is never deleted")
        return None

    def lookup_request(self, account: str) -> Request:
        return Request("GET", "/user/list", params={"email": account, "per_page": 1})

    def lookup_verdict(self, account: str, answer: Answer) -> Verdict | None:
        payload = answer.member("payload")
        if answer.status != 200 or not isinstance(payload, dict):
            return None
        total = payload.get("total", 0)
        return Verdict("would_remove" if total else "not_found", count_of(total or 0, "user"))

    def remove_request(self, account: str) -> Request:
        return Request("DELETE", "/user/all", params={"email": account})

    def removal_verdict(self, account: str, answer: Answer) -> Verdict | None:
        payload = answer.member("payload")
        if answer.status != 200 or not isinstance(payload, dict):
            return None
        deleted = payload.get("deleted", 0)
        return Verdict("done" if deleted else "not_found", f"{count_of(deleted or 0, 'user')} deleted")

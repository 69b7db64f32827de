"""WSO2 EMM: an OAuth2 password grant, then ``DELETE /mdm-admin/users?username=...``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from svc_leaver.clients.base import (
    DEFAULT_LIFETIME,
    Answer,
    Request,
    RequestKind,
    VendorClient,
    Verdict,
    expiry_after,
)


@dataclass
class Wso2Client(VendorClient):
    """Removes the user from the user store; its device enrolments stay (the product's behaviour)."""

    name = "wso2"

    def code_and_message(self, body: dict[str, Any]) -> tuple[Any, str | None]:
        return None, body.get("messageFromServer") or body.get("errorMessage") or body.get(
            "error_description"
        )

    def login_request(self) -> Request:
        form = {"grant_type": "password", "username": self.username, "password": self.secret}
        return Request("POST", "/oauth2/token", data=form)

    def issued_token(self, answer: Answer) -> Any:
        return answer.member("access_token")

    def session_expiry(self, token: str, answer: Answer) -> float:
        return expiry_after(answer.member("expires_in"), DEFAULT_LIFETIME)

    def authorize(self, kind: RequestKind, request: Request) -> Request:
        return request.adding(headers={"Authorization": f"Bearer {self.token}"})

    def session_expired(self, answer: Answer) -> bool:
        return answer.status == 401

    def lookup_request(self, account: str) -> Request:
        return Request("GET", "/mdm-admin/users/view", params={"username": account})

    def lookup_verdict(self, account: str, answer: Answer) -> Verdict | None:
        if answer.status == 200:
            return Verdict("would_remove", f"user {account}")
        return Verdict("not_found") if answer.status == 404 else None

    def remove_request(self, account: str) -> Request:
        return Request("DELETE", "/mdm-admin/users", params={"username": account})

    def removal_verdict(self, account: str, answer: Answer) -> Verdict | None:
        if answer.status == 200:
            return Verdict("done")
        gone = answer.status == 400 and (answer.message or "").endswith("does not exist for removal.")
        return Verdict("not_found") if gone else None

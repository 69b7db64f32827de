"""Commvault web service: log in for an Authtoken, then ``POST /User/Offboard`` by user name."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

from svc_leaver.clients.base import Answer, Request, RequestKind, VendorClient, Verdict

# Tokens lapse after 30 idle minutes by default.
IDLE_LIFETIME = 30 * 60
JSON_HEADERS = {"Accept": "application/json"}


@dataclass
class CommvaultClient(VendorClient):
    """Offboarding removes the user as owner of its clients and disables their backups."""

    name = "commvault"
    # Log in again well before the idle timeout.
    expiry_margin = 5 * 60

    def code_and_message(self, body: dict[str, Any]) -> tuple[Any, str | None]:
        errors = body.get("errList")
        if (
            body.get("errorCode") is None
            and isinstance(errors, list)
            and errors
            and isinstance(errors[0], dict)
        ):
            return errors[0].get("errorCode"), errors[0].get("errLogMessage")
        return body.get("errorCode"), body.get("errorMessage")

    def login_request(self) -> Request:
        password = base64.b64encode(self.secret.encode("utf-8")).decode("ascii")
        credentials = {"username": self.username, "password": password}
        return Request("POST", "/Login", json=credentials, headers=JSON_HEADERS)

    def issued_token(self, answer: Answer) -> Any:
        return answer.member("token")

    def session_expiry(self, token: str, answer: Answer) -> float:
        return time.time() + IDLE_LIFETIME

    def authorize(self, kind: RequestKind, request: Request) -> Request:
        # Each use of the token restarts its idle timeout.
        self.expires = time.time() + IDLE_LIFETIME
        return request.adding(headers={**JSON_HEADERS, "Authtoken": self.token or ""})

    def session_expired(self, answer: Answer) -> bool:
        return answer.status == 401

    def lookup_request(self, account: str) -> Request:
        return Request("GET", "/User")

    def lookup_verdict(self, account: str, answer: Answer) -> Verdict | None:
        users = answer.member("users")
        if answer.status != 200 or not isinstance(users, list):
            return None
        for user in users:
            entity = user.get("userEntity", {}) if isinstance(user, dict) else {}
            name = entity.get("userName")
            if isinstance(name, str) and name.casefold() == account.casefold():
                return Verdict("would_remove", f"user {name} (userId {entity.get('userId')})")
        return Verdict("not_found", f"User [{account}] does not exist.")

    def remove_request(self, account: str) -> Request:
        return Request("POST", "/User/Offboard", json={"userName": account})

    def removal_verdict(self, account: str, answer: Answer) -> Verdict | None:
        if answer.status == 200 and answer.code == 0:
            return Verdict("done")
        gone = (
            answer.status == 200 and answer.code == 2 and (answer.message or "").endswith("does not exist.")
        )
        return Verdict("not_found") if gone else None

"""Commvault web service: log in for an Authtoken, then ``POST /User/Offboard`` by user name."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import httpx

from svc_leaver.clients.base import Answer, LoginFailed, Outcome, Unavailable, VendorClient, json_or_none

# Tokens lapse after 30 idle minutes by default; log in again well before.
IDLE_LIFETIME = 25 * 60
JSON_HEADERS = {"Accept": "application/json"}


@dataclass
class CommvaultClient(VendorClient):
    """Offboarding removes the user as owner of its clients and disables their backups."""

    name = "commvault"
    token: str | None = field(default=None, init=False, repr=False)
    last_used: float = field(default=0.0, init=False)

    def parse(self, response: httpx.Response) -> Answer:
        body = json_or_none(response)
        code = message = None
        if isinstance(body, dict):
            code, message = body.get("errorCode"), body.get("errorMessage")
            errors = body.get("errList")
            if code is None and isinstance(errors, list) and errors and isinstance(errors[0], dict):
                code, message = errors[0].get("errorCode"), errors[0].get("errLogMessage")
        return Answer(status=response.status_code, code=code, message=message, body=body)

    def login(self) -> None:
        password = base64.b64encode(self.secret.encode("utf-8")).decode("ascii")
        answer = self.send(
            "login",
            "POST",
            "/Login",
            json={"username": self.username, "password": password},
            headers=JSON_HEADERS,
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status == 200 and isinstance(body.get("token"), str):
            self.token, self.last_used = body["token"], time.time()
            return
        if self.transient(answer):
            raise Unavailable(answer, rate_limited=answer.status == 429)
        raise LoginFailed(answer)

    def has_session(self) -> bool:
        return self.token is not None and time.time() - self.last_used < IDLE_LIFETIME

    def drop_session(self) -> None:
        self.token = None

    def session_expired(self, answer: Answer) -> bool:
        return answer.status == 401

    def _headers(self) -> dict[str, str]:
        self.last_used = time.time()
        return {**JSON_HEADERS, "Authtoken": self.token or ""}

    def lookup(self, account: str) -> Outcome:
        result = self.call(
            "lookup",
            lambda repeat: self.send("lookup", "GET", "/User", repeat=repeat, headers=self._headers()),
        )
        if isinstance(result, Outcome):
            return result
        users = result.body.get("users") if isinstance(result.body, dict) else None
        if result.status != 200 or not isinstance(users, list):
            return Outcome("failed", result, detail=result.message)
        for user in users:
            entity = user.get("userEntity", {}) if isinstance(user, dict) else {}
            name = entity.get("userName")
            if isinstance(name, str) and name.casefold() == account.casefold():
                return Outcome("would_remove", result, detail=f"user {name} (userId {entity.get('userId')})")
        return Outcome("not_found", result, detail=f"User [{account}] does not exist.")

    def remove(self, account: str, *, removal_sent_before: bool = False) -> Outcome:
        result = self.call(
            "remove",
            lambda repeat: self.send(
                "remove",
                "POST",
                "/User/Offboard",
                repeat=repeat,
                headers=self._headers(),
                json={"userName": account},
            ),
        )
        if isinstance(result, Outcome):
            return result
        if result.status == 200 and result.code == 0:
            return Outcome("done", result, detail=result.message)
        if result.status == 200 and result.code == 2 and (result.message or "").endswith("does not exist."):
            if removal_sent_before:
                return Outcome("done", result, detail="already removed by this run")
            return Outcome("not_found", result, detail=result.message)
        return Outcome("failed", result, detail=result.message)

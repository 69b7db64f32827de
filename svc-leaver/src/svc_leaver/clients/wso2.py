"""WSO2 EMM: an OAuth2 password grant, then ``DELETE /mdm-admin/users?username=...``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from svc_leaver.clients.base import Answer, LoginFailed, Outcome, Unavailable, VendorClient, json_or_none

EXPIRY_MARGIN = 5.0


@dataclass
class Wso2Client(VendorClient):
    """Removes the user from the user store; its device enrolments stay (the product's behaviour)."""

    name = "wso2"
    token: str | None = field(default=None, init=False, repr=False)
    expires: float = field(default=0.0, init=False)

    def parse(self, response: httpx.Response) -> Answer:
        body = json_or_none(response)
        message = None
        if isinstance(body, dict):
            message = (
                body.get("messageFromServer") or body.get("errorMessage") or body.get("error_description")
            )
        return Answer(status=response.status_code, message=message, body=body)

    def login(self) -> None:
        form = {"grant_type": "password", "username": self.username, "password": self.secret}
        answer = self.send("login", "POST", "/oauth2/token", data=form)
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status == 200 and isinstance(body.get("access_token"), str):
            self.token = body["access_token"]
            lifetime = body.get("expires_in")
            self.expires = time.time() + (lifetime if isinstance(lifetime, int | float) else 3600)
            return
        if self.transient(answer):
            raise Unavailable(answer, rate_limited=answer.status == 429)
        raise LoginFailed(answer)

    def has_session(self) -> bool:
        return self.token is not None and time.time() < self.expires - EXPIRY_MARGIN

    def drop_session(self) -> None:
        self.token = None

    def session_expired(self, answer: Answer) -> bool:
        return answer.status == 401

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def lookup(self, account: str) -> Outcome:
        result = self.call(
            "lookup",
            lambda repeat: self.send(
                "lookup",
                "GET",
                "/mdm-admin/users/view",
                repeat=repeat,
                params={"username": account},
                headers=self._headers(),
            ),
        )
        if isinstance(result, Outcome):
            return result
        if result.status == 200:
            return Outcome("would_remove", result, detail=f"user {account}")
        if result.status == 404:
            return Outcome("not_found", result, detail=result.message)
        return Outcome("failed", result, detail=result.message)

    def remove(self, account: str, *, removal_sent_before: bool = False) -> Outcome:
        result = self.call(
            "remove",
            lambda repeat: self.send(
                "remove",
                "DELETE",
                "/mdm-admin/users",
                repeat=repeat,
                params={"username": account},
                headers=self._headers(),
            ),
        )
        if isinstance(result, Outcome):
            return result
        if result.status == 200:
            return Outcome("done", result, detail=result.message)
        if result.status == 400 and (result.message or "").endswith("does not exist for removal."):
            if removal_sent_before:
                return Outcome("done", result, detail="already removed by this run")
            return Outcome("not_found", result, detail=result.message)
        return Outcome("failed", result, detail=result.message)

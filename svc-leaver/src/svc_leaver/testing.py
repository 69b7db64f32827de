"""Test kit: creating and inspecting one person's accounts at the five vendor services, over their own APIs.

Used by svc-leaver's end-to-end tests and its benchmark; it talks to the services directly, as their
demo administrators.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

import httpx

# Commvault's demo client that tests may give owners (sandbox-fs01).
SANDBOX_CLIENT = 31


@dataclass
class Vendors:
    """The five services' own URLs (no gateway), and the demo administrator accounts."""

    wipe: str
    bulkuser: str
    offboard: str
    emm: str
    agenda: str

    def _grommunio(self, client: httpx.Client) -> tuple[dict[str, str], dict[str, str]]:
        login = client.post(f"{self.wipe}/api/v1/login", data={"user": "admin", "pass": "admin-demo"}).json()
        return {"Cookie": f"grommunioAuthJwt={login['grommunioAuthJwt']}"}, {"X-Csrf-Token": login["csrf"]}

    def _dnl(self, client: httpx.Client) -> dict[str, str]:
        answer = client.post(
            f"{self.bulkuser}/v1/auth", json={"email_or_name": "admin", "password": "admin-demo"}
        )
        return {"X-Auth-Token": answer.json()["payload"]["token"]}

    def _commvault(self, client: httpx.Client) -> dict[str, str]:
        password = base64.b64encode(b"admin-demo").decode()
        answer = client.post(
            f"{self.offboard}/webconsole/api/Login",
            json={"username": "admin", "password": password},
            headers={"Accept": "application/json"},
        )
        return {"Authtoken": answer.json()["token"], "Accept": "application/json"}

    def _wso2(self, client: httpx.Client) -> dict[str, str]:
        answer = client.post(
            f"{self.emm}/oauth2/token",
            data={"grant_type": "password", "username": "admin", "password": "admin-demo"},
        )
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def _aktion(self, client: httpx.Client) -> str:
        answer = client.post(
            f"{self.agenda}/AktionNEXT/API/login", json={"UserLogin": "api", "ApiKey": "api-demo-key"}
        )
        return answer.json()["Token"]

    def create_person(self, devices: int = 2) -> dict[str, str]:
        """A new person with an account at every vendor (and ``devices`` phones at grommunio)."""
        local = f"p{uuid.uuid4().hex[:10]}"
        email = f"{local}@example.com"
        login_name = f"P.{local}"
        with httpx.Client(timeout=30) as client:
            cookie, csrf = self._grommunio(client)
            created = client.post(
                f"{self.wipe}/api/v1/domains/1/users", json={"username": local}, headers={**cookie, **csrf}
            )
            assert created.status_code == 201, created.text
            if devices:
                ids = ",".join(f"{local.upper()}DEV{n}" for n in range(devices))
                wiped = client.post(
                    f"{self.wipe}/api/v1/service/wipe/{email}?devices={ids}",
                    json={"status": 1},
                    headers={**cookie, **csrf},
                )
                assert wiped.status_code == 201, wiped.text
            created = client.post(
                f"{self.bulkuser}/v1/user/create",
                json={"name": local, "email": email, "user_type": "client"},
                headers=self._dnl(client),
            )
            assert created.status_code == 200, created.text
            created = client.post(
                f"{self.offboard}/webconsole/api/User",
                json={"users": [{"userEntity": {"userName": local}, "email": email}]},
                headers=self._commvault(client),
            )
            assert created.json()["response"][0]["errorCode"] == 0, created.text
            # An owner of the sandbox client: offboarding removes that ownership.
            owners = {"ownersOperationType": 2, "owners": [{"userName": local}]}
            changed = client.post(
                f"{self.offboard}/webconsole/api/Client/{SANDBOX_CLIENT}",
                json={
                    "clientProperties": {
                        "clientProps": {"securityAssociations": {"ownerAssociations": owners}}
                    }
                },
                headers=self._commvault(client),
            )
            assert changed.json()["response"][0]["errorCode"] == 0, changed.text
            created = client.post(
                f"{self.emm}/mdm-admin/users",
                json={"username": local, "emailAddress": email},
                headers=self._wso2(client),
            )
            assert created.status_code == 201, created.text
            created = client.post(
                f"{self.agenda}/AktionNEXT/API/user/create",
                params={"Token": self._aktion(client)},
                json={"LoginName": login_name, "UserName": f"Person {local}"},
            )
            assert created.status_code == 200, created.text
        return {"grommunio": email, "dnl": email, "commvault": local, "wso2": local, "aktion": login_name}

    def presence(self, accounts: dict[str, str]) -> dict[str, object]:
        """What each vendor shows of the person now (grommunio: device statuses; others: exists or not)."""
        seen: dict[str, object] = {}
        with httpx.Client(timeout=30) as client:
            if "grommunio" in accounts:
                cookie, _ = self._grommunio(client)
                answer = client.get(
                    f"{self.wipe}/api/v1/service/wipe/{accounts['grommunio']}", headers=cookie
                )
                seen["grommunio"] = (
                    sorted(device["status"] for device in answer.json()["data"].values())
                    if answer.status_code == 200
                    else None
                )
            if "dnl" in accounts:
                answer = client.get(
                    f"{self.bulkuser}/v1/user/list",
                    params={"email": accounts["dnl"]},
                    headers=self._dnl(client),
                )
                seen["dnl"] = answer.json()["payload"]["total"] > 0
            if "commvault" in accounts:
                answer = client.get(
                    f"{self.offboard}/webconsole/api/Client/{SANDBOX_CLIENT}", headers=self._commvault(client)
                )
                properties = answer.json()["clientProperties"][0]["clientProps"]
                owners = properties["securityAssociations"]["ownerAssociations"]["owners"]
                seen["commvault"] = accounts["commvault"] in [owner["userName"] for owner in owners]
            if "wso2" in accounts:
                answer = client.get(
                    f"{self.emm}/mdm-admin/users/view",
                    params={"username": accounts["wso2"]},
                    headers=self._wso2(client),
                )
                seen["wso2"] = answer.status_code == 200
            if "aktion" in accounts:
                answer = client.get(
                    f"{self.agenda}/AktionNEXT/API/user/get",
                    params={"LoginName": accounts["aktion"], "Token": self._aktion(client)},
                    headers={"Accept": "application/json"},
                )
                seen["aktion"] = answer.status_code == 200
        return seen

"""Fixtures of svc-offboard's end-to-end tests: the service on PostgreSQL behind the real gateway."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

import pytest

from vendorkit.testing import HttpResult, http_request
from vendorkit.testing.openapi import check_result, served_openapi
from vendorkit.testing.suite import stack_fixtures

API = "/webconsole/api"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class Api:
    """Calls to ``/webconsole/api`` through one gateway, with or without a token.

    Every answer is held to the service's OpenAPI document (openapi_check).
    """

    def __init__(self, base_url: str, openapi: dict):
        self.base_url = base_url
        self.openapi = openapi

    def call(self, method: str, path: str, *, token: str | None = None, headers=None, **kwargs) -> HttpResult:
        headers = dict(headers or {})
        if token is not None:
            headers["Authtoken"] = token
        kwargs.setdefault("timeout", 20)
        result = http_request(method, f"{self.base_url}{API}{path}", headers=headers, **kwargs)
        return check_result(self.openapi, method, API + path, result, fallback_xml_root="App_GenericResp")

    def get(self, path: str, token: str, **kwargs) -> dict:
        response = self.call("GET", path, token=token, **kwargs)
        assert response.status == 200, response.text
        return response.json()

    def post(self, path: str, token: str, body: dict, **kwargs) -> dict:
        response = self.call("POST", path, token=token, json_body=body, **kwargs)
        assert response.status == 200, response.text
        return response.json()

    def login(self, username: str, password: str) -> str:
        response = self.call("POST", "/Login", json_body={"username": username, "password": b64(password)})
        assert response.status == 200, response.text
        return response.json()["token"]

    def create_user(self, token: str, name: str, *, password: str | None = None, associations=()) -> int:
        user: dict = {"userEntity": {"userName": name}, "email": f"{name}@example.com"}
        if password:
            user["password"] = b64(password)
        user["securityAssociations"] = {
            "associations": [
                {"entities": {"entity": [{"clientName": client}]}, "properties": {"role": {"roleName": role}}}
                for client, role in associations
            ]
        }
        body = self.post("/User", token, {"users": [user]})
        assert body["response"][0]["errorCode"] == 0, body
        return body["response"][0]["entity"]["userId"]

    def add_owners(self, token: str, client_id: int, *user_ids: int) -> None:
        owners = {"ownersOperationType": 2, "owners": [{"userId": user_id} for user_id in user_ids]}
        body = {"clientProperties": {"clientProps": {"securityAssociations": {"ownerAssociations": owners}}}}
        assert self.post(f"/Client/{client_id}", token, body) == {"response": [{"errorCode": 0}]}

    def set_backup(self, token: str, subclient_id: int, enabled: bool) -> None:
        body = {"subClientProperties": {"commonProperties": {"enableBackup": enabled}}}
        assert self.post(f"/Subclient/{subclient_id}", token, body) == {"response": [{"errorCode": 0}]}

    def owners(self, token: str, client_id: int) -> list[str]:
        props = self.get(f"/Client/{client_id}", token)["clientProperties"][0]["clientProps"]
        return [owner["userName"] for owner in props["securityAssociations"]["ownerAssociations"]["owners"]]

    def backup(self, token: str, subclient_id: int) -> bool:
        return self.get(f"/Subclient/{subclient_id}", token)["subClientProperties"][0]["commonProperties"][
            "enableBackup"
        ]

    def roles(self, token: str, user_id: int) -> list[tuple[int, str]]:
        user = self.get(f"/User/{user_id}", token)["users"][0]
        return [
            (a["entities"]["entity"][0]["clientId"], a["properties"]["role"]["roleName"])
            for a in user["securityAssociations"]["associations"]
        ]


offboard_service, offboard_openapi = stack_fixtures("offboard")


@pytest.fixture(scope="session")
def api(stack, offboard_openapi) -> Api:
    """The shared stack's svc-offboard through its gateway (demo data; tests leave kim alone)."""
    return Api(stack.gateway.url, offboard_openapi)


@pytest.fixture(scope="session")
def admin_token(api) -> str:
    return api.login("admin", "admin-demo")


@pytest.fixture
def unique() -> Callable[[str], str]:
    """A user name nobody else uses."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def kim_api(stack, tmp_path_factory):
    """A svc-offboard of its own on a fresh database, behind a gateway of its own: kim may be offboarded."""
    with stack.private("offboard", tmp_path_factory.mktemp("kim-gateway"), "offboard_kim") as (
        service,
        gateway,
    ):
        yield Api(gateway.url, served_openapi(service.url))

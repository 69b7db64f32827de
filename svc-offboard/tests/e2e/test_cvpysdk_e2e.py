"""Commvault's own Python SDK, cvpysdk, unchanged and with its default settings, through the real gateway.

Every call below is cvpysdk's code: its reachability probe, Login, WhoAmI,
the v4 user API, CommServ, the client listings, DELETE User, token renewal
and Logout. Where cvpysdk and our reading of the API document disagree,
cvpysdk's behaviour is what these tests hold the service to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import psycopg
import pytest
from cvpysdk.commcell import Commcell
from cvpysdk.cvpysdk import CVPySDK
from cvpysdk.exception import SDKException

from vendorkit.security import hash_token
from vendorkit.testing.openapi import check_response

SANDBOX_FS = 31


@pytest.fixture(autouse=True)
def documented_answers(monkeypatch, offboard_openapi):
    """Hold every answer cvpysdk receives to svc-offboard's OpenAPI document."""
    send = CVPySDK._request

    def checked(sdk: CVPySDK, **kwargs):
        response = send(sdk, **kwargs)
        request = response.request
        check_response(
            offboard_openapi,
            request.method,
            urlsplit(request.url).path,
            response.status_code,
            response.headers.get("Content-Type"),
            response.content,
            fallback_xml_root="App_GenericResp",
        )
        return response

    monkeypatch.setattr(CVPySDK, "_request", checked)


@pytest.fixture(scope="module")
def gateway_host(stack, offboard_service) -> str:
    """``host:port`` of the gateway, as cvpysdk takes a web console host name."""
    return urlsplit(stack.gateway.url).netloc


@pytest.fixture(scope="module")
def commandcenter_url(gateway_host) -> str:
    """cvpysdk's default API root, given as ``web_service_url`` (which skips its https attempt)."""
    return f"http://{gateway_host}/commandcenter/api"


@pytest.fixture
def commcell(commandcenter_url) -> Iterator[Commcell]:
    """An admin session of its own."""
    session = Commcell("commserv", "admin", "admin-demo", web_service_url=commandcenter_url)
    yield session
    if session._headers.get("Authtoken"):
        session.logout()


@pytest.fixture
def offboard_database(stack) -> Callable[[str, dict], None]:
    """Run one SQL statement on svc-offboard's database (to age a token, as idle time would)."""
    url = stack.services["offboard"].env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")

    def execute(statement: str, params: dict) -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(statement, params)

    return execute


def test_default_constructor_finds_the_commandcenter_root_and_logs_in(gateway_host):
    # cvpysdk tries https first (refused by the plain-HTTP listener), then http.
    commcell = Commcell(gateway_host, "admin", "admin-demo")
    try:
        assert commcell._web_service == f"http://{gateway_host}/commandcenter/api/"
        assert commcell.commcell_username == "admin"
        assert commcell.auth_token.startswith("QSDK ")
        assert len(commcell.auth_token) >= 5 + 64
        # Its default authtoken login probes the same way, then asks WhoAmI.
        other = Commcell(gateway_host, authtoken=commcell.auth_token)
        assert other.commcell_username == "admin"
    finally:
        commcell.logout()


def test_web_service_url_reaches_the_webconsole_root(stack, offboard_service):
    commcell = Commcell(
        "commserv.example.com", "admin", "admin-demo", web_service_url=stack.url("/webconsole/api")
    )
    try:
        assert commcell._web_service == stack.url("/webconsole/api/")
        assert commcell.users.has_user("admin")
    finally:
        commcell.logout()


def test_wrong_password_is_refused_with_the_products_message(commandcenter_url):
    with pytest.raises(SDKException, match="Invalid Username or Password"):
        Commcell("commserv", "admin", "not-the-password", web_service_url=commandcenter_url)


def test_an_authtoken_session_knows_its_user(commcell, commandcenter_url):
    other = Commcell("commserv", authtoken=commcell.auth_token, web_service_url=commandcenter_url)
    assert other.commcell_username == "admin"
    # The hex part alone is accepted too (cvpysdk prefixes "QSDK ").
    hex_only = commcell.auth_token.removeprefix("QSDK ")
    assert (
        Commcell("commserv", authtoken=hex_only, web_service_url=commandcenter_url).commcell_username
        == "admin"
    )


def test_an_unknown_authtoken_is_refused(commandcenter_url):
    with pytest.raises(SDKException):
        Commcell("commserv", authtoken="QSDK " + "ab" * 48, web_service_url=commandcenter_url)


def test_users_list_lookup_and_properties(commcell):
    users = commcell.users
    assert {"admin": 1, "kim": 5, "jim": 6}.items() <= users.all_users.items()
    assert users.has_user("KIM")
    assert not users.has_user("nobody-here")

    kim = users.get("kim")
    assert (kim.user_id, kim.user_name, kim.email, kim.full_name) == (5, "kim", "kim@example.com", "Kim Park")
    assert kim.status is True
    assert kim.associated_usergroups == []
    assert kim.user_guid
    admin = users.get("admin")
    assert admin.associated_usergroups == ["master"]


def test_user_security_associations_come_from_the_security_endpoint(commcell, api, admin_token, unique):
    name = unique("cv-roles")
    api.create_user(admin_token, name, associations=[("sandbox-fs01", "View")])
    user = commcell.users.get(name)
    associations = user.user_security_associations
    assert list(associations.values()) == [["clientName", "sandbox-fs01", "view"]]


def test_delete_hands_the_users_clients_to_the_new_owner(commcell, api, admin_token, unique):
    leaver, heir = unique("cv-leaver"), unique("cv-heir")
    leaver_id = api.create_user(admin_token, leaver, associations=[("sandbox-fs01", "Client Admins")])
    heir_id = api.create_user(admin_token, heir)
    api.add_owners(admin_token, SANDBOX_FS, leaver_id)
    users = commcell.users
    assert users.has_user(leaver)

    users.delete(leaver, new_user=heir)

    assert not users.has_user(leaver)
    assert users.has_user(heir)
    owners = api.owners(admin_token, SANDBOX_FS)
    assert heir in owners
    assert leaver not in owners
    assert api.call("GET", f"/User/{leaver_id}", token=admin_token).json() == {
        "errorCode": 2,
        "errorMessage": f"User [{leaver_id}] does not exist.",
    }
    api.post(
        f"/Client/{SANDBOX_FS}",
        admin_token,
        {
            "clientProperties": {
                "clientProps": {
                    "securityAssociations": {
                        "ownerAssociations": {"ownersOperationType": 3, "owners": [{"userId": heir_id}]}
                    }
                }
            }
        },
    )


def test_delete_refuses_an_unknown_new_owner(commcell, api, admin_token, unique):
    leaver = unique("cv-stays")
    api.create_user(admin_token, leaver)
    with pytest.raises(SDKException, match="doesn't exists"):
        commcell.users.delete(leaver, new_user="nobody-here")
    assert commcell.users.has_user(leaver)


def test_clients_list_lookup_and_properties(commcell):
    clients = commcell.clients
    assert clients.all_clients["kim-laptop"]["id"] == "11"
    assert clients.all_clients["kim-vm01"]["hostname"] == "kim-vm01.example.com"
    assert clients.has_client("shared-fs01")
    assert clients.has_client("shared-fs01.example.com")
    assert not clients.has_client("no-such-client")
    assert "vcenter01" in clients.virtualization_clients
    assert clients.hidden_clients == {}

    laptop = clients.get("kim-laptop")
    assert (laptop.client_id, laptop.client_hostname, laptop.display_name) == (
        "11",
        "kim-laptop.example.com",
        "kim-laptop",
    )
    assert laptop.os_info == "WinX64 Windows Client  --  Windows 11 Enterprise"
    assert laptop.is_vm is False
    assert laptop.cvd_port == 8400
    assert laptop.timezone == "(UTC) Coordinated Universal Time"

    vm = clients.get("kim-vm01")
    assert vm.is_vm is True
    assert vm.vm_guid == "564D0A21-0000-4000-8000-000000000021"
    assert vm.hyperv_id_of_vm == 20

    shared = clients.get("shared-fs01")
    assert shared.owners == "admin"
    assert shared.is_backup_enabled is True


def test_commserv_details(commcell):
    assert commcell.commserv_name == "commserv"
    assert commcell.commserv_hostname == "commserv.example.com"
    assert commcell.commserv_timezone_name == "(UTC) Coordinated Universal Time"
    assert commcell.commcell_id == 2
    assert commcell.version.startswith("11.")


def test_an_idle_expired_token_is_renewed_and_the_call_retried(commcell, offboard_database, api):
    stale = commcell.auth_token
    two_hours_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    offboard_database(
        "UPDATE tokens SET last_used_at = %(when)s WHERE token_hash = %(digest)s",
        {"when": two_hours_ago, "digest": hash_token(stale.removeprefix("QSDK "))},
    )
    assert api.call("POST", "/WhoAmI", token=stale).status == 401

    commcell.users.refresh()  # 401, then POST RenewLoginToken, then the same call again

    assert commcell.auth_token != stale
    assert commcell.users.has_user("kim")
    # The stale token was exchanged once, and is dead now.
    assert api.call("POST", "/WhoAmI", token=stale).status == 401
    renewal = api.call("POST", "/RenewLoginToken", token=stale, json_body={"sessionId": stale})
    assert renewal.json() == {
        "error": {"errorCode": 5, "errLogMessage": "Session cannot be renewed: log in again"}
    }


def test_logout_revokes_the_token(commcell, api):
    token = commcell.auth_token
    assert api.call("POST", "/WhoAmI", token=token).status == 200

    assert commcell.logout() == '{"errorCode": 0, "errorMessage": "User logged out"}'

    assert api.call("POST", "/WhoAmI", token=token).status == 401
    renewal = api.call("POST", "/RenewLoginToken", token=token, json_body={"sessionId": token})
    assert "token" not in renewal.json()


def test_offboard_through_the_sdks_request_method(commcell, api, admin_token, unique):
    name = unique("cv-offboard")
    user_id = api.create_user(admin_token, name, associations=[("sandbox-fs01", "Client Admins")])
    api.add_owners(admin_token, SANDBOX_FS, user_id)

    response = commcell.request("POST", "User/Offboard", {"userName": name})

    assert response.status_code == 200
    assert response.json() == {"errorMessage": f"Successfully offboarded user {user_id}", "errorCode": 0}
    assert name not in api.owners(admin_token, SANDBOX_FS)
    assert api.roles(admin_token, user_id) == []
    for subclient in (131, 132):
        assert api.backup(admin_token, subclient) is False
        api.set_backup(admin_token, subclient, True)

"""The endpoints cvpysdk calls beyond the document's: probe, WhoAmI, token renewal, v4 users,
user security, DELETE User, CommServ, the virtualization listings, and the /commandcenter/api root."""

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import update

from svc_offboard import create_app, services
from svc_offboard.models import Token
from vendorkit import db
from vendorkit.security import hash_token

API = "/webconsole/api"
CC = "/commandcenter/api"
ACCESS_DENIED = {"errorCode": 5, "errorMessage": "Access denied"}
NOT_RENEWABLE = {"error": {"errorCode": 5, "errLogMessage": "Session cannot be renewed: log in again"}}


def failure(message: str) -> dict:
    return {"errorCode": 2, "errorMessage": message}


def list_failure(message: str) -> dict:
    return {"response": [{"errorCode": 2, "errorString": message}]}


def age_token(app, token: str, minutes: int) -> None:
    """Move the token's last use ``minutes`` into the past, as idle time would."""
    with app.app_context():
        session = db.session()
        session.execute(
            update(Token)
            .where(Token.token_hash == hash_token(token.removeprefix("QSDK ")))
            .values(last_used_at=services.utcnow() - timedelta(minutes=minutes))
        )
        session.commit()


# --- the service root and /commandcenter/api --------------------------------------------------


@pytest.mark.parametrize("root", [f"{API}/", f"{CC}/", f"{CC}", "/CommandCenter/API/"])
def test_the_service_root_answers_without_a_token(client, root):
    response = client.get(root)
    assert response.status_code == 200
    assert response.json == {"errorCode": 0, "errorMessage": "Commvault web service"}


def test_commandcenter_serves_the_same_api(client, b64):
    login = client.post(f"{CC}/Login", json={"username": "admin", "password": b64("admin-demo")}).json
    headers = {"Authtoken": login["token"]}
    assert (
        client.get(f"{CC}/user/5", headers=headers).json == client.get(f"{API}/User/5", headers=headers).json
    )
    assert client.get(f"{CC}/Client").json == ACCESS_DENIED
    assert client.get(f"{CC}/Nowhere", headers=headers).status_code == 404


# --- WhoAmI --------------------------------------------------------------------------------------


def test_who_am_i(client, admin, xml_of):
    body = client.post(f"{API}/WhoAmI", headers=admin).json
    assert body["user"]["userName"] == "admin"
    assert body["user"]["userId"] == 1
    root = xml_of(client.post(f"{API}/whoami", headers={**admin, "Accept": "application/xml"}))
    assert root.tag == "CvEntities_ProcessingInstructionInfo"
    assert root.find("user").attrib["userName"] == "admin"
    assert client.post(f"{API}/WhoAmI").json == ACCESS_DENIED


# --- RenewLoginToken ----------------------------------------------------------------------------


def test_renewal_exchanges_a_live_token_once(client, admin):
    token = admin["Authtoken"]
    body = client.post(f"{API}/RenewLoginToken", json={"sessionId": token, "deviceId": "host"}).json
    assert body["userName"] == "admin"
    assert body["token"].startswith("QSDK ") and body["token"] != token
    assert client.post(f"{API}/WhoAmI", headers={"Authtoken": body["token"]}).status_code == 200
    assert client.post(f"{API}/WhoAmI", headers=admin).status_code == 401
    assert client.post(f"{API}/RenewLoginToken", json={"sessionId": token}).json == NOT_RENEWABLE


def test_renewal_takes_the_authtoken_header_when_no_session_id(client, admin):
    body = client.post(f"{API}/RenewLoginToken", json={}, headers=admin).json
    assert body["token"] != admin["Authtoken"]


def test_an_idle_expired_token_renews_within_the_window(app, client, admin):
    age_token(app, admin["Authtoken"], 31)
    assert client.post(f"{API}/WhoAmI", headers=admin).status_code == 401
    body = client.post(f"{API}/RenewLoginToken", json={"sessionId": admin["Authtoken"]}, headers=admin).json
    assert client.post(f"{API}/WhoAmI", headers={"Authtoken": body["token"]}).status_code == 200


def test_a_token_idle_past_the_window_does_not_renew(app, client, admin):
    age_token(app, admin["Authtoken"], 30 + 24 * 60 + 1)
    assert client.post(f"{API}/RenewLoginToken", json={"sessionId": admin["Authtoken"]}).json == NOT_RENEWABLE


def test_a_logged_out_token_does_not_renew(client, admin):
    client.post(f"{API}/Logout", headers=admin)
    assert client.post(f"{API}/RenewLoginToken", json={"sessionId": admin["Authtoken"]}).json == NOT_RENEWABLE


@pytest.mark.parametrize("session_id", ["", "QSDK zz", 42, None, "QSDK " + "0" * 96])
def test_no_renewal_for_a_token_that_is_not_one(client, session_id):
    assert client.post(f"{API}/RenewLoginToken", json={"sessionId": session_id}).json == NOT_RENEWABLE


def test_renewal_reads_json_only(client):
    response = client.post(
        f"{API}/RenewLoginToken", data="<r sessionId='x'/>", headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 415


# --- v4 users and security ------------------------------------------------------------------------


def test_v4_user_list(client, admin):
    users = client.get(f"{API}/v4/user?additionalProperties=true", headers=admin).json["users"]
    assert [(u["id"], u["name"]) for u in users] == [(1, "admin"), (5, "kim"), (6, "jim")]
    assert users[1] == {
        "id": 5,
        "name": "kim",
        "GUID": users[1]["GUID"],
        "fullName": "Kim Park",
        "email": "kim@example.com",
        "description": "",
        "enabled": True,
    }


def test_v4_user(client, admin):
    admin_user = client.get(f"{API}/V4/User/1", headers=admin).json
    assert admin_user["associatedUserGroups"] == [{"id": 1, "name": "master"}]
    assert client.get(f"{API}/v4/user/5", headers=admin).json["associatedUserGroups"] == []
    assert client.get(f"{API}/v4/user/77", headers=admin).json == failure("User [77] does not exist.")


def test_user_security(client, admin):
    body = client.get(f"{API}/User/5/Security", headers=admin).json
    assert [
        (a["entities"]["entity"][0]["clientName"], a["properties"]["role"]["roleName"])
        for a in body["associations"]
    ] == [
        ("kim-laptop", "Client Admins"),
        ("kim-ws01", "Client Admins"),
        ("shared-fs01", "View"),
        ("kim-vm01", "Client Admins"),
        ("kim-vm02", "Client Admins"),
    ]
    assert client.get(f"{API}/User/1/Security", headers=admin).json == {"associations": []}
    assert client.get(f"{API}/User/77/Security", headers=admin).json == failure("User [77] does not exist.")


# --- DELETE User ----------------------------------------------------------------------------------


def owners(client, headers, client_id: int) -> list[str]:
    props = client.get(f"{API}/Client/{client_id}", headers=headers).json["clientProperties"][0][
        "clientProps"
    ]
    return [o["userName"] for o in props["securityAssociations"]["ownerAssociations"]["owners"]]


def test_delete_user_hands_its_clients_to_the_new_owner(client, admin, make_user):
    heir = make_user("heir")
    response = client.delete(f"{API}/User/5?newUserId={heir}&newUserGroupId=0", headers=admin)
    assert response.json["response"][0]["errorCode"] == 0
    assert response.json["response"][0]["entity"]["userName"] == "kim"
    assert owners(client, admin, 11) == ["heir"]
    assert owners(client, admin, 12) == ["admin", "heir"]
    assert owners(client, admin, 21) == ["heir"]
    assert client.get(f"{API}/User/5", headers=admin).json == failure("User [5] does not exist.")
    # Backups go on: the clients changed hands, nothing was offboarded.
    subclients = client.get(f"{API}/Subclient?clientId=11", headers=admin).json["subClientProperties"]
    assert all(s["commonProperties"]["enableBackup"] for s in subclients)


def test_delete_user_revokes_its_tokens(client, admin, make_user, login):
    make_user("going", "going-pass")
    going = {"Authtoken": login("going", "going-pass")}
    user_id = client.post(f"{API}/WhoAmI", headers=going).json["user"]["userId"]
    client.delete(f"{API}/User/{user_id}?newUserId=1", headers=admin)
    assert client.post(f"{API}/WhoAmI", headers=going).status_code == 401


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Ownership transfer is mandatory: give newUserId."),
        ("?newUserId=0&newUserGroupId=0", "Ownership transfer is mandatory: give newUserId."),
        ("?newUserId=abc", "Invalid newUserId."),
        ("?newUserId=-1", "Invalid newUserId."),
        ("?newUserGroupId=x1", "Invalid newUserGroupId."),
        ("?newUserId=99999999999", "Invalid newUserId."),
        ("?newUserId=1&newUserGroupId=1", "Give either newUserId or newUserGroupId, not both."),
        ("?newUserGroupId=1", "Clients are owned by users here: give newUserId."),
        ("?newUserId=77", "User [77] does not exist."),
        ("?newUserId=5", "Invalid newUserId."),
    ],
)
def test_delete_user_refusals_change_nothing(client, admin, query, message):
    assert client.delete(f"{API}/User/5{query}", headers=admin).json == list_failure(message)
    assert owners(client, admin, 11) == ["kim"]


def test_delete_unknown_user_and_self(client, admin):
    assert client.delete(f"{API}/User/77?newUserId=1", headers=admin).json == list_failure(
        "User [77] does not exist."
    )
    assert client.delete(f"{API}/User/1?newUserId=5", headers=admin).json == list_failure(
        "You cannot delete your own account."
    )


def test_delete_user_is_for_master_administrators(client, user_headers):
    response = client.delete(f"{API}/User/5?newUserId=6", headers=user_headers)
    assert (response.status_code, response.json) == (403, ACCESS_DENIED)


# --- CommServ and the client listings ---------------------------------------------------------------


def test_commserv(client, admin):
    body = client.get(f"{API}/CommServ", headers=admin).json
    assert body["commcell"]["commCellName"] == "commserv"
    assert body["commcell"]["commCellId"] == 2
    assert body["hostName"] == "commserv.example.com"
    assert body["csTimeZone"] == {"TimeZoneName": "(UTC) Coordinated Universal Time"}
    assert body["csVersionInfo"].startswith("11.")


def test_commserv_names_come_from_the_configuration(demo_database, tmp_path, b64):
    path = tmp_path / "own.db"
    shutil.copyfile(demo_database, path)
    settings = {
        "DATABASE_URL": f"sqlite:///{path}",
        "COMMSERV_NAME": "cs01",
        "COMMSERV_HOSTNAME": "cs01.corp",
    }
    own = create_app(settings).test_client()
    token = own.post(f"{API}/Login", json={"username": "admin", "password": b64("admin-demo")}).json["token"]
    body = own.get(f"{API}/CommServ", headers={"Authtoken": token}).json
    assert (body["commcell"]["commCellName"], body["hostName"]) == ("cs01", "cs01.corp")


def test_virtualization_clients(client, admin):
    body = client.get(f"{API}/Client?PseudoClientType=VSPseudo", headers=admin).json
    assert [c["client"]["clientName"] for c in body["VSPseudoClientsList"]] == ["vcenter01"]
    hidden = client.get(f"{API}/Client?hiddenclients=true", headers=admin).json
    assert hidden == client.get(f"{API}/Client", headers=admin).json


def test_access_nodes(client, admin):
    assert client.get(f"{API}/VSAClientAndClientGroupList", headers=admin).json == {"clients": []}

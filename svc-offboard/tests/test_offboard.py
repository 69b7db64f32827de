"""POST /User/Offboard: the document's example, its effect seen through the read endpoints, every error."""

import pytest

from vendorkit.testing.concurrency import at_once

API = "/webconsole/api"
CLIENT_IDS = (11, 12, 13, 20, 21, 22, 31, 32)


def success(user_id):
    return {"errorMessage": f"Successfully offboarded user {user_id}", "errorCode": 0}


def failure(message):
    return {"errorCode": 2, "errorMessage": message}


def observed_state(client, headers):
    """Owners of every client, enableBackup and plan of every subclient, every user's role associations."""
    owners, backup, roles = {}, {}, {}
    for client_id in CLIENT_IDS:
        props = client.get(f"{API}/Client/{client_id}", headers=headers).json["clientProperties"][0]
        owners[client_id] = props["clientProps"]["clientSecurity"]["clientOwners"]
        for sub in client.get(f"{API}/Subclient?clientId={client_id}", headers=headers).json[
            "subClientProperties"
        ]:
            backup[sub["subClientEntity"]["subclientId"]] = (
                sub["commonProperties"]["enableBackup"],
                sub["planEntity"]["planName"],
            )
    for summary in client.get(f"{API}/User", headers=headers).json["users"]:
        user_id = summary["userEntity"]["userId"]
        user = client.get(f"{API}/User/{user_id}", headers=headers).json["users"][0]
        roles[user_id] = [
            (a["entities"]["entity"][0]["clientId"], a["properties"]["role"]["roleName"])
            for a in user["securityAssociations"]["associations"]
        ]
    return {"owners": owners, "backup": backup, "roles": roles}


# The demo subclients' plans, and those whose backup offboarding kim stops (of the clients only kim owns).
PLANS = {
    101: "Laptop plan",
    102: "Laptop plan",
    103: "Server plan",
    104: "Server plan",
    120: "VM plan",
    121: "VM plan",
    122: "VM plan",
    131: "Server plan",
    132: "Server plan",
    133: "VM plan",
}
KIMS_SUBCLIENTS = (101, 102, 103, 121, 122)

DEMO_STATE = {
    "owners": {11: "kim", 12: "admin,kim", 13: "admin", 20: "admin", 21: "kim", 22: "kim", 31: "", 32: ""},
    "backup": {subclient: (True, plan) for subclient, plan in PLANS.items()},
    "roles": {
        1: [],
        5: [
            (11, "Client Admins"),
            (12, "Client Admins"),
            (13, "View"),
            (21, "Client Admins"),
            (22, "Client Admins"),
        ],
        6: [],
    },
}

KIM_OFFBOARDED = {
    "owners": {11: "", 12: "admin", 13: "admin", 20: "admin", 21: "", 22: "", 31: "", 32: ""},
    "backup": {subclient: (subclient not in KIMS_SUBCLIENTS, plan) for subclient, plan in PLANS.items()},
    "roles": {1: [], 5: [(13, "View")], 6: []},
}


def test_demo_state(client, admin):
    assert observed_state(client, admin) == DEMO_STATE


def test_the_documents_example(client, admin):
    """Content-type application/xml with a JSON body, Accept application/json, userId 5."""
    response = client.post(
        f"{API}/User/Offboard",
        data=b'{\n  "userId":5\n}',
        headers={**admin, "Accept": "application/json", "Content-type": "application/xml"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert (
        response.get_data(as_text=True)
        == '{"errorMessage": "Successfully offboarded user 5", "errorCode": 0}'
    )
    assert observed_state(client, admin) == KIM_OFFBOARDED


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ({"userName": "kim"}, "application/json"),
        ({"userName": "KIM"}, "application/json"),
        ({"userId": "5"}, "application/json"),
        ({"userId": 5, "userName": "Kim"}, "application/json"),
        ({"userId": 0, "userName": "kim"}, "application/json"),
        ({"userId": None, "userName": "kim", "unknown": [1]}, "application/json"),
        ('<Api_OffboardUserReq userName="kim"/>', "application/xml"),
        ('<Api_OffboardUserReq userId="5"/>', "application/xml"),
        ("<Api_OffboardUserReq><userId> 5 </userId></Api_OffboardUserReq>", "text/xml"),
        ('<Other userId="5"><userName>kim</userName></Other>', "application/xml"),
    ],
)
def test_offboard_by_name_or_id_json_and_xml(client, admin, body, content_type):
    data = body if isinstance(body, str) else None
    response = client.post(
        f"{API}/User/Offboard",
        data=data,
        json=None if data else body,
        headers={**admin, "Content-Type": content_type},
    )
    assert response.json == success(5)
    assert observed_state(client, admin) == KIM_OFFBOARDED


def test_xml_response(client, admin, xml_of):
    response = client.post(
        f"{API}/User/Offboard",
        data='<Api_OffboardUserReq userName="kim"/>',
        headers={**admin, "Content-Type": "application/xml", "Accept": "application/xml"},
    )
    root = xml_of(response)
    assert root.tag == "App_GenericResp"
    assert root.attrib == {"errorMessage": "Successfully offboarded user 5", "errorCode": "0"}


def test_idempotent(client, admin):
    for _ in range(3):
        assert client.post(f"{API}/User/Offboard", json={"userId": 5}, headers=admin).json == success(5)
    assert observed_state(client, admin) == KIM_OFFBOARDED


def test_a_user_owning_nothing(client, admin):
    assert client.post(f"{API}/User/Offboard", json={"userName": "jim"}, headers=admin).json == success(6)
    assert observed_state(client, admin) == DEMO_STATE


def test_user_record_and_tokens_untouched(client, admin, make_user, login):
    user_id = make_user("leaver", "leaver-pw", associations=[("sandbox-fs01", "View")])
    token = login("leaver", "leaver-pw")
    client.post(f"{API}/Client/31", json=_owners(1, [{"userId": user_id}]), headers=admin)
    before = client.get(f"{API}/User/{user_id}", headers=admin).json
    assert client.post(f"{API}/User/Offboard", json={"userId": user_id}, headers=admin).json == success(
        user_id
    )
    after = client.get(f"{API}/User/{user_id}", headers=admin).json
    before["users"][0]["securityAssociations"]["associations"] = []
    assert after == before
    # Still enabled, same password, token still valid.
    assert client.get(f"{API}/User", headers={"Authtoken": token}).status_code == 200
    assert login("leaver", "leaver-pw")


def _owners(operation, owners):
    return {
        "clientProperties": {
            "clientProps": {
                "securityAssociations": {
                    "ownerAssociations": {"ownersOperationType": operation, "owners": owners}
                }
            }
        }
    }


def test_sandbox_offboarding_can_repeat(client, admin, make_user):
    user_id = make_user(
        "temp",
        associations=[
            ("sandbox-fs01", "Client Admins"),
            ("sandbox-vm01", "Client Admins"),
            ("kim-ws01", "View"),
        ],
    )
    for _ in range(2):
        for client_id in (31, 32):
            client.post(f"{API}/Client/{client_id}", json=_owners(2, [{"userName": "temp"}]), headers=admin)
            for sub in (131, 132, 133):
                body = {"subClientProperties": {"commonProperties": {"enableBackup": True}}}
                client.post(f"{API}/Subclient/{sub}", json=body, headers=admin)
        state = observed_state(client, admin)
        assert state["owners"][31] == state["owners"][32] == "temp"
        response = client.post(f"{API}/User/Offboard", json={"userName": "TEMP"}, headers=admin)
        assert response.json == success(user_id)
        state = observed_state(client, admin)
        assert state["owners"] == DEMO_STATE["owners"]
        assert {sub: state["backup"][sub][0] for sub in (131, 132, 133)} == {
            131: False,
            132: False,
            133: False,
        }
        # Its role on a client it does not own stays; the hypervisor vcenter01 is untouched.
        assert state["roles"][user_id] == [(12, "View")]
        assert state["backup"][120] == (True, "VM plan")
        # Other users are untouched.
        assert state["roles"][5] == DEMO_STATE["roles"][5]


def test_concurrent_offboards_on_sqlite(app, client, admin):
    def run():
        with app.test_client() as own:
            return own.post(f"{API}/User/Offboard", json={"userName": "kim"}, headers=admin).json

    results = at_once(*[run] * 4)
    assert results == [success(5)] * 4
    assert observed_state(client, admin) == KIM_OFFBOARDED


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"userId": True}, "Invalid userId."),
        ({"userId": False}, "Invalid userId."),
        ({"userId": 5.0}, "Invalid userId."),
        ({"userId": -5}, "Invalid userId."),
        ({"userId": 2147483648}, "Invalid userId."),
        ({"userId": "2147483648"}, "Invalid userId."),
        ({"userId": "5a"}, "Invalid userId."),
        ({"userId": " 5"}, "Invalid userId."),
        ({"userId": "-5"}, "Invalid userId."),
        ({"userId": "\uff15"}, "Invalid userId."),  # a fullwidth digit
        ({"userId": [5]}, "Invalid userId."),
        ({"userId": {"id": 5}}, "Invalid userId."),
        ({"userId": "9" * 5000}, "Invalid userId."),
        ({"userId": "x", "userName": 5}, "Invalid userId."),
        ({"userName": 5}, "Invalid userName."),
        ({"userName": True}, "Invalid userName."),
        ({"userName": ["kim"]}, "Invalid userName."),
        ({"userName": "k" * 256}, "Invalid userName."),
        ({"userName": "kim\n"}, "Invalid userName."),
        ({"userName": "ki\x00m"}, "Invalid userName."),
        ({"userName": "kim\x7f"}, "Invalid userName."),
        ({"userId": 5, "userName": "\t"}, "Invalid userName."),
        ({}, "Either userName or userId must be specified."),
        ({"userId": None, "userName": None}, "Either userName or userId must be specified."),
        ({"userId": 0, "userName": ""}, "Either userName or userId must be specified."),
        ({"userId": "", "other": "kim"}, "Either userName or userId must be specified."),
        ({"userId": "000"}, "Either userName or userId must be specified."),
        ({"userId": 7}, "User [7] does not exist."),
        ({"userId": "0007"}, "User [7] does not exist."),
        ({"userId": 2147483647}, "User [2147483647] does not exist."),
        ({"userId": 7, "userName": "kim"}, "User [7] does not exist."),
        ({"userId": 5, "userName": "jim"}, "userName and userId do not refer to the same user."),
        ({"userId": 5, "userName": "nobody"}, "userName and userId do not refer to the same user."),
        ({"userName": "nobody"}, "User [nobody] does not exist."),
        ({"userName": "Nobody "}, "User [Nobody ] does not exist."),
        ({"userName": " kim"}, "User [ kim] does not exist."),
        ({"userName": "k%"}, "User [k%] does not exist."),
        ({"userName": "k*"}, "User [k*] does not exist."),
        ({"userName": "k" * 255}, f"User [{'k' * 255}] does not exist."),
    ],
)
def test_validation_failures(client, admin, body, message, xml_of):
    response = client.post(f"{API}/User/Offboard", json=body, headers=admin)
    assert response.status_code == 200
    assert response.json == failure(message)
    response = client.post(f"{API}/User/Offboard", json=body, headers={**admin, "Accept": "application/xml"})
    assert xml_of(response).attrib == {"errorCode": "2", "errorMessage": message}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<Api_OffboardUserReq userId="abc"/>', "Invalid userId."),
        ('<Api_OffboardUserReq userId="1.0"/>', "Invalid userId."),
        ('<Api_OffboardUserReq userName="a&#10;b"/>', "Invalid userName."),
        ('<Api_OffboardUserReq userId=""/>', "Either userName or userId must be specified."),
        ("<Api_OffboardUserReq><userName>  </userName></Api_OffboardUserReq>", "Either userName or userId must be specified."),
        ("<Api_OffboardUserReq/>", "Either userName or userId must be specified."),
        ('<Api_OffboardUserReq userId="0"/>', "Either userName or userId must be specified."),
        ('<Api_OffboardUserReq userId="8"/>', "User [8] does not exist."),
        ('<Api_OffboardUserReq userId="5" userName="jim"/>', "userName and userId do not refer to the same user."),
        ('<Api_OffboardUserReq userName="nobody"/>', "User [nobody] does not exist."),
        ('<Api_OffboardUserReq userName="&lt;kim&gt;"/>', "User [<kim>] does not exist."),
    ],
)  # fmt: skip
def test_validation_failures_in_xml_requests(client, admin, body, message, xml_of):
    headers = {**admin, "Content-Type": "application/xml", "Accept": "application/xml"}
    response = client.post(f"{API}/User/Offboard", data=body, headers=headers)
    assert response.status_code == 200
    assert xml_of(response).attrib == {"errorCode": "2", "errorMessage": message}
    kim = client.get(f"{API}/User/5", headers=admin).json["users"][0]
    assert len(kim["securityAssociations"]["associations"]) == 5


def test_a_failure_changes_nothing(client, admin):
    client.post(f"{API}/User/Offboard", json={"userId": 5, "userName": "jim"}, headers=admin)
    assert observed_state(client, admin) == DEMO_STATE

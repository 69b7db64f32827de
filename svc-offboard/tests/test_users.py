"""GET /User, GET /User/{id}, POST /User."""

import re

import pytest

API = "/webconsole/api"


def test_list_users(client, admin):
    response = client.get(f"{API}/User", headers=admin)
    users = response.json["users"]
    assert [u["userEntity"]["userId"] for u in users] == [1, 5, 6]
    kim = users[1]
    assert re.fullmatch(r"[0-9A-F-]{36}", kim["userEntity"].pop("userGUID"))
    assert kim == {
        "userEntity": {"userId": 5, "userName": "kim"},
        "email": "kim@example.com",
        "fullName": "Kim Park",
        "description": "",
        "enableUser": True,
    }


def test_list_users_xml(client, admin, xml_of):
    root = xml_of(client.get(f"{API}/User", headers={**admin, "Accept": "application/xml"}))
    assert root.tag == "App_GetUserPropertiesResponse"
    assert [u.find("userEntity").attrib["userName"] for u in root.findall("users")] == ["admin", "kim", "jim"]
    assert root.find("users").attrib == {
        "email": "admin@example.com",
        "fullName": "Administrator",
        "description": "",
        "enableUser": "true",
    }


def test_get_user(client, admin):
    response = client.get(f"{API}/User/5?Level=50", headers=admin)
    user = response.json["users"][0]
    assert list(user) == [
        "userEntity",
        "email",
        "fullName",
        "description",
        "enableUser",
        "associatedUserGroups",
        "securityAssociations",
    ]
    assert user["associatedUserGroups"] == []
    associations = user["securityAssociations"]["associations"]
    assert associations[2] == {
        "entities": {"entity": [{"clientId": 13, "clientName": "shared-fs01", "_type_": 3}]},
        "properties": {"role": {"roleId": 4, "roleName": "View"}},
    }
    assert [
        (a["entities"]["entity"][0]["clientId"], a["properties"]["role"]["roleId"]) for a in associations
    ] == [
        (11, 3),
        (12, 3),
        (13, 4),
        (21, 3),
        (22, 3),
    ]


def test_get_admin_has_the_master_group(client, admin):
    user = client.get(f"{API}/User/1", headers=admin).json["users"][0]
    assert user["associatedUserGroups"] == [{"userGroupId": 1, "userGroupName": "master"}]
    assert user["securityAssociations"] == {"associations": []}


def test_get_user_xml(client, admin, xml_of):
    root = xml_of(client.get(f"{API}/User/1", headers={**admin, "Accept": "application/xml"}))
    user = root.find("users")
    assert user.find("associatedUserGroups").attrib == {"userGroupId": "1", "userGroupName": "master"}
    assert user.find("securityAssociations") is not None


@pytest.mark.parametrize("user_id", ["7", "0", "0007", "99999999999999999999"])
def test_unknown_user(client, admin, user_id, xml_of):
    response = client.get(f"{API}/User/{user_id}", headers=admin)
    assert response.status_code == 200
    assert response.json == {"errorCode": 2, "errorMessage": f"User [{int(user_id)}] does not exist."}
    root = xml_of(client.get(f"{API}/User/{user_id}", headers={**admin, "Accept": "application/xml"}))
    assert root.tag == "App_GenericResp"
    assert root.attrib["errorCode"] == "2"


FULL_USER = {
    "userEntity": {"userName": "u1"},
    "email": "u1@example.com",
    "fullName": "",
    "description": "",
    "password": "dTEtcGFzcw==",  # u1-pass
    "enableUser": True,
    "associatedUserGroups": [{"userGroupName": "master"}],
    "securityAssociations": {
        "associationsOperationType": 1,
        "associations": [
            {
                "entities": {"entity": [{"clientName": "sandbox-fs01"}]},
                "properties": {"role": {"roleName": "Client Admins"}},
            }
        ],
    },
}


def test_create_user_as_in_the_spec(client, admin, login):
    response = client.post(f"{API}/User", json={"users": [FULL_USER]}, headers=admin)
    assert response.status_code == 200
    body = response.json
    assert re.fullmatch(r"[0-9A-F-]{36}", body["response"][0]["entity"].pop("userGUID"))
    assert body == {"response": [{"errorCode": 0, "entity": {"userId": 100, "userName": "u1"}}]}
    user = client.get(f"{API}/User/100", headers=admin).json["users"][0]
    assert user["associatedUserGroups"] == [{"userGroupId": 1, "userGroupName": "master"}]
    assert user["securityAssociations"]["associations"] == [
        {
            "entities": {"entity": [{"clientId": 31, "clientName": "sandbox-fs01", "_type_": 3}]},
            "properties": {"role": {"roleId": 3, "roleName": "Client Admins"}},
        }
    ]
    # A master administrator: may offboard.
    token = login("u1", "u1-pass")
    response = client.post(f"{API}/User/Offboard", json={"userId": 6}, headers={"Authtoken": token})
    assert response.json["errorCode"] == 0


def test_create_minimal_users_get_growing_ids(client, admin, b64):
    ids = []
    for name in ("a1", "a2", "a3"):
        body = {"users": [{"userEntity": {"userName": name}}]}
        ids.append(
            client.post(f"{API}/User", json=body, headers=admin).json["response"][0]["entity"]["userId"]
        )
    assert ids == [100, 101, 102]
    user = client.get(f"{API}/User/101", headers=admin).json["users"][0]
    assert user["email"] == "" and user["enableUser"] is True and user["associatedUserGroups"] == []
    # Without a password nobody can log in.
    response = client.post(f"{API}/Login", json={"username": "a2", "password": b64("")})
    assert "token" not in response.json


def test_create_user_xml_response(client, admin, xml_of):
    response = client.post(
        f"{API}/User",
        json={"users": [{"userEntity": {"userName": "x1"}}]},
        headers={**admin, "Accept": "text/xml"},
    )
    root = xml_of(response)
    assert root.tag == "App_GenericResponse"
    item = root.find("response")
    assert item.attrib == {"errorCode": "0"}
    assert item.find("entity").attrib["userName"] == "x1"


def _user(**fields):
    return {"users": [{"userEntity": {"userName": "new"}, **fields}]}


def _assoc(entity, role):
    return {"associations": [{"entities": {"entity": [entity]}, "properties": {"role": role}}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Exactly one user must be specified."),
        ({"users": None}, "Exactly one user must be specified."),
        ({"users": {"userEntity": {"userName": "x"}}}, "Exactly one user must be specified."),
        ({"users": []}, "Exactly one user must be specified."),
        ({"users": [{}, {}]}, "Exactly one user must be specified."),
        ({"users": ["new"]}, "Exactly one user must be specified."),
        ({"users": [{}]}, "Invalid userName."),
        ({"users": [{"userEntity": "new"}]}, "Invalid userName."),
        ({"users": [{"userEntity": {"userName": ""}}]}, "Invalid userName."),
        ({"users": [{"userEntity": {"userName": 5}}]}, "Invalid userName."),
        ({"users": [{"userEntity": {"userName": "n" * 256}}]}, "Invalid userName."),
        ({"users": [{"userEntity": {"userName": "a\x01b"}}]}, "Invalid userName."),
        ({"users": [{"userEntity": {"userName": "KIM"}}]}, "User [KIM] already exists."),
        (_user(email=5), "Invalid email."),
        (_user(email=None), "Invalid email."),
        (_user(email="no-at-sign"), "Invalid email."),
        (_user(email="a@" + "b" * 253), "Invalid email."),
        (_user(fullName=["x"]), "Invalid fullName."),
        (_user(fullName="f" * 256), "Invalid fullName."),
        (_user(description=1), "Invalid description."),
        (_user(description="d" * 256), "Invalid description."),
        (_user(password="plain text"), "Invalid password."),
        (_user(password=""), "Invalid password."),
        (_user(password=5), "Invalid password."),
        (_user(password="/w=="), "Invalid password."),  # not UTF-8 once decoded
        (_user(password="eHh4" * 86), "Invalid password."),  # 258 characters once decoded
        (_user(enableUser="true"), "Invalid enableUser."),
        (_user(enableUser=1), "Invalid enableUser."),
        (_user(associatedUserGroups=[{"userGroupName": "staff"}]), "User group [staff] does not exist."),
        (_user(associatedUserGroups={"userGroupName": "master"}), "Invalid associatedUserGroups."),
        (_user(associatedUserGroups=["master"]), "Invalid associatedUserGroups."),
        (_user(associatedUserGroups=[{"userGroupId": 1}]), "Invalid associatedUserGroups."),
        (_user(securityAssociations=_assoc({"clientName": "nope"}, {"roleName": "View"})), "Client [nope] does not exist."),
        (_user(securityAssociations=_assoc({"clientId": 99}, {"roleName": "View"})), "Client [99] does not exist."),
        (_user(securityAssociations=_assoc({"clientId": 31}, {"roleName": "Boss"})), "Role [Boss] does not exist."),
        (_user(securityAssociations=_assoc({"clientId": 31}, {"roleId": 9})), "Role [9] does not exist."),
        (_user(securityAssociations=_assoc({"clientId": "31"}, {"roleId": 3})), "Invalid securityAssociations."),
        (_user(securityAssociations=_assoc({}, {"roleId": 3})), "Invalid securityAssociations."),
        (_user(securityAssociations=_assoc({"clientId": 31}, None)), "Invalid securityAssociations."),
        (_user(securityAssociations=[]), "Invalid securityAssociations."),
        (_user(securityAssociations={"associations": {}}), "Invalid securityAssociations."),
        (_user(securityAssociations={"associations": [{"entities": {"entity": []}}]}), "Invalid securityAssociations."),
    ],
)  # fmt: skip
def test_create_user_failures(client, admin, body, message):
    response = client.post(f"{API}/User", json=body, headers=admin)
    assert response.status_code == 200
    assert response.json == {"response": [{"errorCode": 2, "errorString": message}]}
    # Nothing was created.
    assert [u["userEntity"]["userId"] for u in client.get(f"{API}/User", headers=admin).json["users"]] == [
        1,
        5,
        6,
    ]


def test_create_user_failure_in_xml(client, admin, xml_of):
    response = client.post(f"{API}/User", json={}, headers={**admin, "Accept": "application/xml"})
    root = xml_of(response)
    assert root.tag == "App_GenericResponse"
    assert root.find("response").attrib == {
        "errorCode": "2",
        "errorString": "Exactly one user must be specified.",
    }


def test_a_failed_creation_takes_no_id(client, admin):
    client.post(f"{API}/User", json=_user(email="bad"), headers=admin)
    response = client.post(f"{API}/User", json=_user(), headers=admin)
    assert response.json["response"][0]["entity"]["userId"] == 100

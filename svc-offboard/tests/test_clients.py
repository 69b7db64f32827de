"""GET /Client, GET /Client/{id}, POST /Client/{id} (owners)."""

import re

import pytest

API = "/webconsole/api"


def owners_body(owners, operation=None, **extra):
    associations = {"owners": owners, **extra}
    if operation is not None:
        associations["ownersOperationType"] = operation
    return {
        "clientProperties": {"clientProps": {"securityAssociations": {"ownerAssociations": associations}}}
    }


def owners_of(client, headers, client_id):
    props = client.get(f"{API}/Client/{client_id}", headers=headers).json["clientProperties"][0][
        "clientProps"
    ]
    owners = props["securityAssociations"]["ownerAssociations"]["owners"]
    assert props["clientSecurity"]["clientOwners"] == ",".join(o["userName"] for o in owners)
    return [o["userId"] for o in owners]


def test_list_clients(client, admin):
    clients = client.get(f"{API}/Client", headers=admin).json["clientProperties"]
    assert [c["client"]["clientEntity"]["clientId"] for c in clients] == [11, 12, 13, 20, 21, 22, 31, 32]
    entity = clients[0]["client"]["clientEntity"]
    assert re.fullmatch(r"[0-9A-F-]{36}", entity.pop("clientGUID"))
    assert entity == {
        "clientId": 11,
        "clientName": "kim-laptop",
        "hostName": "kim-laptop.example.com",
        "displayName": "kim-laptop",
    }
    assert list(clients[0]) == ["client"]


def test_list_clients_xml(client, admin, xml_of):
    root = xml_of(client.get(f"{API}/Client", headers={**admin, "Accept": "application/xml"}))
    assert root.tag == "App_GetClientPropertiesResponse"
    names = [c.find("client/clientEntity").attrib["clientName"] for c in root.findall("clientProperties")]
    assert names[-2:] == ["sandbox-fs01", "sandbox-vm01"]


def test_get_ordinary_client(client, admin):
    body = client.get(f"{API}/Client/12", headers=admin).json
    props = body["clientProperties"][0]
    assert props["clientProps"] == {
        "securityAssociations": {
            "ownerAssociations": {
                "owners": [{"userId": 1, "userName": "admin"}, {"userId": 5, "userName": "kim"}]
            }
        },
        "clientSecurity": {"clientOwners": "admin,kim"},
        "activityControl": {
            "EnableDataManagement": True,
            "EnableDataRecovery": True,
            "EnableOnlineContentIndex": False,
        },
        "clientActivityControl": {
            "activityControlOptions": [
                {"activityType": 1, "enableActivityType": True},
                {"activityType": 2, "enableActivityType": True},
                {"activityType": 16, "enableActivityType": True},
            ]
        },
        "EnableSnapBackups": False,
    }
    assert props["client"]["osInfo"] == {
        "Type": "Windows",
        "SubType": "Client",
        "OsDisplayInfo": {"OSName": "Windows 11 Enterprise", "ProcessorType": "WinX64"},
    }
    assert props["client"]["cvdPort"] == 8400
    assert props["client"]["TimeZone"] == {"TimeZoneName": "(UTC) Coordinated Universal Time"}
    assert "vmStatusInfo" not in props
    assert "vmStatusInfo" not in client.get(f"{API}/Client/20", headers=admin).json["clientProperties"][0]


def test_get_vm_client(client, admin):
    props = client.get(f"{API}/Client/32", headers=admin).json["clientProperties"][0]
    assert props["vmStatusInfo"] == {
        "strGUID": "564D0A21-0000-4000-8000-000000000032",
        "vmName": "sandbox-vm01",
        "pseudoClient": {"clientId": 20, "clientName": "vcenter01"},
    }
    assert props["clientProps"]["clientSecurity"] == {"clientOwners": ""}
    assert props["clientProps"]["securityAssociations"]["ownerAssociations"] == {"owners": []}


def test_get_vm_client_xml(client, admin, xml_of):
    root = xml_of(client.get(f"{API}/Client/21", headers={**admin, "Accept": "application/xml"}))
    props = root.find("clientProperties")
    assert props.find("vmStatusInfo").attrib == {
        "strGUID": "564D0A21-0000-4000-8000-000000000021",
        "vmName": "kim-vm01",
    }
    assert props.find("vmStatusInfo/pseudoClient").attrib == {"clientId": "20", "clientName": "vcenter01"}
    assert props.find("clientProps/securityAssociations/ownerAssociations/owners").attrib == {
        "userId": "5",
        "userName": "kim",
    }
    assert props.find("clientProps/clientSecurity").attrib == {"clientOwners": "kim"}


@pytest.mark.parametrize("client_id", ["99", "0", "12345678901234"])
def test_unknown_client(client, admin, client_id):
    response = client.get(f"{API}/Client/{client_id}", headers=admin)
    assert response.json == {"errorCode": 2, "errorMessage": f"Client [{int(client_id)}] does not exist."}


@pytest.mark.parametrize(
    ("operation", "owners", "expected"),
    [
        (None, [{"userName": "jim"}, {"userId": 5}], [5, 6]),
        (1, [{"userId": 6, "userName": "JIM"}], [6]),
        (1, [], []),
        (2, [{"userName": "jim"}, {"userId": 1}], [1, 5, 6]),
        (3, [{"userName": "kim"}, {"userId": 6}], [1]),
        (3, [], [1, 5]),
    ],
)
def test_update_owners(client, admin, operation, owners, expected):
    response = client.post(
        f"{API}/Client/12", json=owners_body(owners, operation, association={}), headers=admin
    )
    assert response.status_code == 200
    assert response.json == {"response": [{"errorCode": 0}]}
    assert owners_of(client, admin, 12) == expected


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"clientProperties": {}},
        {"clientProperties": {"clientProps": {"securityAssociations": {}}}},
        {"clientProperties": {"clientProps": {"clientSecurity": {"clientOwners": "jim"}}}},
    ],
)
def test_no_owner_associations_changes_nothing(client, admin, body):
    assert client.post(f"{API}/Client/12", json=body, headers=admin).json == {"response": [{"errorCode": 0}]}
    assert owners_of(client, admin, 12) == [1, 5]


@pytest.mark.parametrize(
    ("client_id", "body", "message"),
    [
        (99, owners_body([{"userName": "jim"}]), "Client [99] does not exist."),
        (99, {}, "Client [99] does not exist."),
        (12, owners_body([{"userName": "jim"}], 4), "Invalid ownersOperationType."),
        (12, owners_body([{"userName": "jim"}], 0), "Invalid ownersOperationType."),
        (12, owners_body([{"userName": "jim"}], "2"), "Invalid ownersOperationType."),
        (12, owners_body([{"userName": "jim"}], True), "Invalid ownersOperationType."),
        (12, owners_body([{"userName": "jim"}], ownersOperationType=None), "Invalid ownersOperationType."),
        (12, owners_body({"userName": "jim"}, 2), "Invalid owners."),
        (12, owners_body(None, 2), "Invalid owners."),
        (12, owners_body(["jim"], 2), "Invalid owners."),
        (12, owners_body([{}], 2), "Invalid owners."),
        (12, owners_body([{"userId": "6"}], 2), "Invalid owners."),
        (12, owners_body([{"userName": 6}], 2), "Invalid owners."),
        (12, owners_body([{"userId": 6, "userName": "kim"}], 2), "Invalid owners."),
        (12, owners_body([{"userName": "jim"}, {"userName": "nobody"}], 2), "User [nobody] does not exist."),
        (12, owners_body([{"userId": 77}], 1), "User [77] does not exist."),
        (12, owners_body([{"userId": 10**12}], 1), f"User [{10**12}] does not exist."),
    ],
)
def test_update_owners_failures(client, admin, client_id, body, message):
    response = client.post(f"{API}/Client/{client_id}", json=body, headers=admin)
    assert response.status_code == 200
    assert response.json == {"response": [{"errorCode": 2, "errorString": message}]}
    assert owners_of(client, admin, 12) == [1, 5]


def test_update_owners_xml_response(client, admin, xml_of):
    response = client.post(f"{API}/Client/99", json={}, headers={**admin, "Accept": "application/xml"})
    root = xml_of(response)
    assert root.tag == "App_GenericResponse"
    assert root.find("response").attrib == {"errorCode": "2", "errorString": "Client [99] does not exist."}


def test_client_backs_up_while_any_of_its_subclients_does(client, admin):
    def backup_activity():
        props = client.get(f"{API}/Client/31", headers=admin).json["clientProperties"][0]["clientProps"]
        options = props["clientActivityControl"]["activityControlOptions"]
        return props["activityControl"]["EnableDataManagement"], options[0]["enableActivityType"]

    switch = {"subClientProperties": {"commonProperties": {"enableBackup": False}}}
    client.post(f"{API}/Subclient/131", json=switch, headers=admin)
    assert backup_activity() == (True, True)
    client.post(f"{API}/Subclient/132", json=switch, headers=admin)
    assert backup_activity() == (False, False)

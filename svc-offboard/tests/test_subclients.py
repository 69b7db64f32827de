"""GET /Subclient?clientId=, GET /Subclient/{id}, POST /Subclient/{id}."""

import pytest

API = "/webconsole/api"

SUBCLIENT_101 = {
    "subClientEntity": {
        "subclientId": 101,
        "subclientName": "default",
        "clientId": 11,
        "clientName": "kim-laptop",
        "appName": "File System",
        "instanceName": "DefaultInstanceName",
        "backupsetName": "defaultBackupSet",
    },
    "commonProperties": {"enableBackup": True, "isDefaultSubclient": True},
    "planEntity": {"planId": 1, "planName": "Laptop plan"},
}


def enable_backup(value):
    return {"subClientProperties": {"commonProperties": {"enableBackup": value}}}


def test_list_subclients_of_a_client(client, admin):
    items = client.get(f"{API}/Subclient?clientId=11&PropertyLevel=20", headers=admin).json[
        "subClientProperties"
    ]
    assert items[0] == SUBCLIENT_101
    assert items[1]["subClientEntity"]["subclientName"] == "documents"
    assert items[1]["commonProperties"] == {"enableBackup": True, "isDefaultSubclient": False}


def test_vm_subclients(client, admin):
    items = client.get(f"{API}/Subclient?clientId=21", headers=admin).json["subClientProperties"]
    assert [i["subClientEntity"]["subclientId"] for i in items] == [121]
    entity = items[0]["subClientEntity"]
    assert (entity["appName"], entity["instanceName"]) == ("Virtual Server", "VMware")
    assert items[0]["planEntity"] == {"planId": 3, "planName": "VM plan"}


def test_list_subclients_xml(client, admin, xml_of):
    root = xml_of(client.get(f"{API}/Subclient?clientId=31", headers={**admin, "Accept": "application/xml"}))
    assert root.tag == "App_GetSubClientPropertiesResponse"
    items = root.findall("subClientProperties")
    assert [i.find("subClientEntity").attrib["subclientId"] for i in items] == ["131", "132"]
    assert items[0].find("commonProperties").attrib == {"enableBackup": "true", "isDefaultSubclient": "true"}
    assert items[0].find("planEntity").attrib == {"planId": "2", "planName": "Server plan"}


@pytest.mark.parametrize(
    "query", ["", "?clientId=", "?clientId=0", "?clientId=-1", "?clientId=abc", "?clientId=1.5"]
)
def test_invalid_client_id(client, admin, query):
    response = client.get(f"{API}/Subclient{query}", headers=admin)
    assert response.json == {"errorCode": 2, "errorMessage": "Invalid clientId."}


@pytest.mark.parametrize("client_id", ["99", "0099", "99999999999"])
def test_subclients_of_unknown_client(client, admin, client_id):
    response = client.get(f"{API}/Subclient?clientId={client_id}", headers=admin)
    assert response.json == {"errorCode": 2, "errorMessage": f"Client [{int(client_id)}] does not exist."}


def test_get_one_subclient(client, admin, xml_of):
    assert client.get(f"{API}/Subclient/101", headers=admin).json == {"subClientProperties": [SUBCLIENT_101]}
    root = xml_of(client.get(f"{API}/Subclient/133", headers={**admin, "Accept": "application/xml"}))
    assert root.find("subClientProperties/subClientEntity").attrib["clientName"] == "sandbox-vm01"


@pytest.mark.parametrize("subclient_id", ["999", "0", "99999999999"])
def test_unknown_subclient(client, admin, subclient_id):
    response = client.get(f"{API}/Subclient/{subclient_id}", headers=admin)
    assert response.json == {
        "errorCode": 2,
        "errorMessage": f"Subclient [{int(subclient_id)}] does not exist.",
    }


def test_switch_backup_off_and_on(client, admin):
    for value in (False, True, False):
        response = client.post(f"{API}/Subclient/131", json=enable_backup(value), headers=admin)
        assert response.json == {"response": [{"errorCode": 0}]}
        item = client.get(f"{API}/Subclient/131", headers=admin).json["subClientProperties"][0]
        assert item["commonProperties"]["enableBackup"] is value
        assert item["planEntity"]["planName"] == "Server plan"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"subClientProperties": {}},
        {"subClientProperties": {"commonProperties": {}}},
        {
            "subClientProperties": {
                "commonProperties": {"isDefaultSubclient": False},
                "planEntity": {"planId": 3},
            }
        },
    ],
)
def test_absent_enable_backup_changes_nothing(client, admin, body):
    assert client.post(f"{API}/Subclient/131", json=body, headers=admin).json == {
        "response": [{"errorCode": 0}]
    }
    assert client.get(f"{API}/Subclient/131", headers=admin).json["subClientProperties"][0][
        "commonProperties"
    ] == {
        "enableBackup": True,
        "isDefaultSubclient": True,
    }


@pytest.mark.parametrize("value", [None, 0, 1, "true", "false", [], {}])
def test_invalid_enable_backup(client, admin, value):
    response = client.post(f"{API}/Subclient/131", json=enable_backup(value), headers=admin)
    assert response.json == {"response": [{"errorCode": 2, "errorString": "Invalid value for enableBackup."}]}
    assert client.get(f"{API}/Subclient/131", headers=admin).json["subClientProperties"][0][
        "commonProperties"
    ]["enableBackup"]


def test_update_unknown_subclient(client, admin, xml_of):
    response = client.post(f"{API}/Subclient/999", json=enable_backup(False), headers=admin)
    assert response.json == {"response": [{"errorCode": 2, "errorString": "Subclient [999] does not exist."}]}
    response = client.post(f"{API}/Subclient/999", json={}, headers={**admin, "Accept": "application/xml"})
    assert xml_of(response).find("response").attrib == {
        "errorCode": "2",
        "errorString": "Subclient [999] does not exist.",
    }

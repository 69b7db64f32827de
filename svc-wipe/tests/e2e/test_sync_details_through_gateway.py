"""The synced-device fields and the profile's realName through the gateway, on PostgreSQL."""

OTHER_HOST = "127.0.0.2"  # not a policy host: the administrator's own machine


def test_sync_details_and_real_name_through_the_gateway(api, admin):
    users = api("GET", "/api/v1/domains/1/users?limit=1000", login=admin, source=OTHER_HOST).json()["data"]
    alice = next(user for user in users if user["username"] == "alice@example.com")
    response = api("GET", f"/api/v1/domains/1/users/{alice['ID']}/sync", login=admin, source=OTHER_HOST)
    assert response.status == 200, response.text
    phone = next(device for device in response.json()["data"] if device["deviceid"] == "ALICEPHONE01")
    assert {key: value for key, value in phone.items() if key not in ("wipeStatus", "wipeHistory")} == {
        "deviceid": "ALICEPHONE01",
        "devicetype": "iPhone",
        "useragent": "Apple-iPhone15C2/2104.112",
        "deviceuser": "alice@example.com",
        "firstsynctime": 1709540102,
        "lastupdatetime": 1718127750,
        "asversion": "16.1",
        "foldersSyncable": 14,
        "foldersSynced": 14,
    }
    profile = api("GET", "/api/v1/profile", login=admin, source=OTHER_HOST)
    assert profile.status == 200, profile.text
    assert profile.json()["user"]["realName"] == "Administrator"

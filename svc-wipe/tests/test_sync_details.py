"""The fields grommunio's admin API declares for a synced device and for the profile, with stored values."""

import pytest
from alembic import command
from sqlalchemy import text

from vendorkit.testing.migrations import sqlite_at_revision

SYNC = "/api/v1/domains/1/users/3/sync"  # alice@example.com
SYNC_FIELDS = [
    "deviceid", "devicetype", "useragent", "deviceuser", "firstsynctime", "lastupdatetime",
    "asversion", "foldersSyncable", "foldersSynced", "wipeStatus", "wipeHistory",
]  # fmt: skip


def test_sync_shows_what_the_activesync_server_recorded(admin):
    response = admin.get(SYNC)
    assert response.status_code == 200
    phone, tablet = response.json["data"]
    assert list(phone) == SYNC_FIELDS
    assert phone == {
        "deviceid": "ALICEPHONE01",
        "devicetype": "iPhone",
        "useragent": "Apple-iPhone15C2/2104.112",
        "deviceuser": "alice@example.com",
        "firstsynctime": 1709540102,  # 2024-03-04T08:15:02Z
        "lastupdatetime": 1718127750,  # 2024-06-11T17:42:30Z
        "asversion": "16.1",
        "foldersSyncable": 14,
        "foldersSynced": 14,
        "wipeStatus": 1,
        "wipeHistory": [],
    }
    assert (tablet["deviceid"], tablet["devicetype"], tablet["asversion"]) == (
        "ALICETABLET01",
        "SamsungDevice",
        "14.1",
    )
    assert (tablet["foldersSynced"], tablet["foldersSyncable"]) == (9, 14)


def test_values_come_from_the_database(admin, run_sql):
    run_sql(
        "UPDATE devices SET device_type = 'WindowsMail', as_version = '16.0', folders_synced = 3,"
        " last_update_time = '2025-01-02 03:04:05' WHERE device_id = 'ALICEPHONE01'"
    )
    phone = admin.get(SYNC).json["data"][0]
    assert (phone["devicetype"], phone["asversion"], phone["foldersSynced"]) == ("WindowsMail", "16.0", 3)
    assert phone["lastupdatetime"] == 1735787045  # 2025-01-02T03:04:05Z, the stored time read as UTC


def test_a_device_first_seen_in_a_wipe_report_has_no_sync_details(admin, client):
    report = client.post(
        "/api/v1/service/wipe/alice@example.com?devices=NEWPHONE", json={"status": 1, "time": 7}
    )
    assert report.status_code == 201
    new_device = next(device for device in admin.get(SYNC).json["data"] if device["deviceid"] == "NEWPHONE")
    assert new_device == {
        "deviceid": "NEWPHONE",
        "devicetype": None,
        "useragent": None,
        "deviceuser": "alice@example.com",
        "firstsynctime": None,
        "lastupdatetime": None,
        "asversion": None,
        "foldersSyncable": None,
        "foldersSynced": None,
        "wipeStatus": 1,
        "wipeHistory": [{"time": 7, "remoteIP": "127.0.0.1", "status": 1}],
    }


@pytest.mark.parametrize(
    ("username", "real_name"),
    [("admin", "Administrator"), ("helpdesk@example.com", "Helpdesk")],
)
def test_profile_shows_the_real_name(remote, log_in, username, real_name):
    log_in(remote, username)
    user = remote.get("/api/v1/profile").json["user"]
    assert user["username"] == username
    assert user["realName"] == real_name


def test_profile_real_name_is_null_when_unset(remote, log_in, run_sql):
    run_sql("UPDATE users SET real_name = NULL WHERE username = 'helpdesk@example.com'")
    log_in(remote, "helpdesk@example.com")
    assert remote.get("/api/v1/profile").json["user"]["realName"] is None


def test_no_password_material_in_the_new_fields(admin):
    text = admin.get(SYNC).get_data(as_text=True) + admin.get("/api/v1/profile").get_data(as_text=True)
    assert "argon2" not in text
    assert "password" not in text.lower()


def test_existing_rows_get_null_details_on_upgrade_and_downgrade_works(tmp_path):
    with sqlite_at_revision("svc_wipe", "0001", tmp_path / "old.db") as (config, engine):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO domains (id, domainname) VALUES (1, 'example.com')"))
            connection.execute(
                text("INSERT INTO users (id, username, domain_id) VALUES (5, 'old@example.com', 1)")
            )
            connection.execute(
                text("INSERT INTO devices (id, user_id, device_id, status) VALUES (1, 5, 'OLD', 1)")
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT real_name FROM users")).all() == [(None,)]
            assert connection.execute(
                text("SELECT device_type, as_version, folders_synced FROM devices")
            ).all() == [(None, None, None)]
        command.downgrade(config, "0001")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT device_id, status FROM devices")).all() == [("OLD", 1)]
            index = "SELECT count(*) FROM sqlite_master WHERE name = 'uq_users_username_lower'"
            assert connection.execute(text(index)).scalar() == 1

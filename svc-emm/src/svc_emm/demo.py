"""svc-emm demo data (docs/emm.md section 7), loaded idempotently when DEMO_DATA=1."""

from typing import Any

from sqlalchemy.orm import Session

from svc_emm.models import Device, DeviceProperty, Enrolment, Role
from svc_emm.services import ensure_user, role_by_name

ROLES = ["admin", "marketing", "sales"]

USERS: list[dict[str, Any]] = [
    {"username": "admin", "password": "admin-demo", "roles": ["admin"]},
    {
        "username": "foo",
        "password": "foo$1234",
        "firstname": "foo",
        "lastname": "bar",
        "email": "foo@gmail.com",
    },
    {
        "username": "jim",
        "password": "jim$1234",
        "firstname": "Jim",
        "lastname": "Bar",
        "email": "jim@gmail.com",
        "roles": ["sales"],
    },
    {
        "username": "kim",
        "password": "kim$1234",
        "firstname": "Kim",
        "lastname": "Bar",
        "email": "kim@gmail.com",
        "roles": ["marketing"],
    },
    {
        "username": "tom",
        "password": "tom$1234",
        "firstname": "Tom",
        "lastname": "Foo",
        "email": "tom@gmail.com",
    },
]

# The document's titan_umts sample, property by property.
TITAN_DEVICE_INFO = (
    '[{"name":"IMEI","value":"359298055243973"},{"name":"IMSI","value":"413025702363929"},'
    '{"name":"DEVICE_MODEL","value":"XT1064"},{"name":"VENDOR","value":"motorola"},'
    '{"name":"OS_VERSION","value":"6.0"},{"name":"DEVICE_NAME","value":"titan_umts"},'
    '{"name":"BATTERY_LEVEL","value":"88"},{"name":"INTERNAL_TOTAL_MEMORY","value":"5.51"},'
    '{"name":"INTERNAL_AVAILABLE_MEMORY","value":"0.43"},{"name":"EXTERNAL_TOTAL_MEMORY","value":"0.0"},'
    '{"name":"EXTERNAL_AVAILABLE_MEMORY","value":"0.0"},{"name":"OPERATOR","value":"Dialog"}]'
)

DEVICES: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "titan_umts",
        "type": "android",
        "description": "titan_umts",
        "identifier": "359298055243973",
        "enrolment": (1, "kim", "BYOD", "ACTIVE", 1457160869352, 1457160869352),
        "properties": [
            ("IMEI", "359298055243973"),
            ("IMSI", "413025702363929"),
            ("DEVICE_MODEL", "XT1064"),
            ("OS_VERSION", "6.0"),
            ("VENDOR", "motorola"),
            ("SERIAL", None),
            ("DEVICE_INFO", TITAN_DEVICE_INFO),
            ("DEVICE_NAME", "titan_umts"),
            ("GCM_TOKEN", None),
        ],
    },
    {
        "id": 2,
        "name": "hammerhead",
        "type": "android",
        "description": "hammerhead",
        "identifier": "353490069873368",
        "enrolment": (2, "jim", "COPE", "INACTIVE", 1457160900000, 1457247300000),
        "properties": [
            ("IMEI", "353490069873368"),
            ("DEVICE_MODEL", "Nexus 5"),
            ("VENDOR", "LGE"),
            ("OS_VERSION", "5.1.1"),
        ],
    },
    {
        "id": 3,
        "name": "jims-ipad",
        "type": "ios",
        "description": "jims-ipad",
        "identifier": "6d8f2a1c0b9e4f7a",
        "enrolment": (3, "jim", "BYOD", "REMOVED", 1457161000000, 1457161000000),
        "properties": [],
    },
]


def load_demo_data(session: Session, config: dict[str, Any]) -> None:
    """Insert the demo records that are missing; never change existing ones."""
    for name in ROLES:
        if role_by_name(session, name) is None:
            session.add(Role(name=name))
    session.flush()
    for user in USERS:
        fields = dict(user)
        ensure_user(session, fields.pop("username"), fields.pop("password"), **fields)
    for spec in DEVICES:
        if session.get(Device, spec["id"]) is not None:
            continue
        enrolment_id, owner, ownership, status, enrolled, updated = spec["enrolment"]
        session.add(
            Device(
                id=spec["id"],
                name=spec["name"],
                type=spec["type"],
                description=spec["description"],
                device_identifier=spec["identifier"],
                enrolment=Enrolment(
                    id=enrolment_id,
                    owner=owner,
                    ownership=ownership,
                    status=status,
                    date_of_enrolment=enrolled,
                    date_of_last_update=updated,
                ),
                properties=[
                    DeviceProperty(position=position, name=name, value=value)
                    for position, (name, value) in enumerate(spec["properties"])
                ],
            )
        )
    session.flush()

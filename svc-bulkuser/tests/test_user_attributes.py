"""The user attributes the product's API models declare beyond the contract: stored, shown, documented."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text, update

from svc_bulkuser.models import Base, User
from vendorkit import db
from vendorkit.testing.migrations import sqlite_at_revision

CLIENT1_ID, VIEWER1_ID = 4, 6
SECRET_WORDS = ("passw", "hash", "argon2", "token")


def test_a_client_user_shows_its_carrier_card_and_login_addresses(client, admin_headers):
    response = client.get(f"/v1/user/{CLIENT1_ID}", headers=admin_headers)
    assert response.status_code == 200
    user = response.json["payload"]
    assert {key: user[key] for key in list(user)[15:]} == {
        "role_name": "client",
        "client_id": 101,
        "reseller_id": None,
        "landing_page": "/client/summary",
        "auth_ip": ["203.0.113.10", "203.0.113.11"],
        "report_group": False,
        "avatar_id": None,
        "card_id": 5001,
        "default_mod": "Client Portal",
        "default_mod2": None,
        "all_termination": False,
    }


def test_list_items_name_each_users_role(client, admin_headers):
    items = client.get("/v1/user/list", headers=admin_headers).json["payload"]["items"]
    assert [(item["name"], item["role_id"], item["role_name"]) for item in items] == [
        ("admin", 1, "admin"),
        ("agent1", 2, "agent"),
        ("agent2", 2, "agent"),
        ("client1", 4, "client"),
        ("client2", 4, "client"),
        ("viewer1", 5, "viewer"),
        ("support1", 3, "support"),
        ("support2", 3, "support"),
        ("support3", 3, "support"),
    ]


def test_a_user_without_recorded_attributes_gets_the_empty_values(client, admin_headers, add_users):
    (user_id,) = add_users({"name": "plain"})  # role 900: no such role
    user = client.get(f"/v1/user/{user_id}", headers=admin_headers).json["payload"]
    assert (user["role_id"], user["role_name"]) == (900, None)
    assert (user["auth_ip"], user["report_group"], user["all_termination"]) == ([], False, False)
    assert user["client_id"] is user["landing_page"] is user["default_mod"] is None


def test_a_created_user_gets_the_empty_values(client, admin_headers):
    created = client.post("/v1/user/create", json={"name": "fresh", "role_id": 2}, headers=admin_headers)
    user = client.get(f"/v1/user/{created.json['object_id']}", headers=admin_headers).json["payload"]
    assert (user["role_name"], user["auth_ip"], user["all_termination"], user["card_id"]) == (
        "agent",
        [],
        False,
        None,
    )


def test_create_stores_the_attributes_it_is_given(client, admin_headers):
    attributes = {
        "client_id": 7,
        "reseller_id": 3,
        "landing_page": "/client/cdr",
        "auth_ip": ["2001:DB8:0:0::1", "::ffff:198.51.100.4", "198.51.100.4"],
        "report_group": True,
        "avatar_id": 9,
        "card_id": 12,
        "default_mod": "CDR",
        "default_mod2": "Invoices",
        "all_termination": True,
    }
    body = {"name": "carrier7", "user_type": "client", "role_id": 4, "role_name": "ignored"} | attributes
    created = client.post("/v1/user/create", json=body, headers=admin_headers)
    assert created.status_code == 200, created.json
    user = client.get(f"/v1/user/{created.json['object_id']}", headers=admin_headers).json["payload"]
    # Addresses are kept in canonical form, each once; role_name always names role_id.
    expected = attributes | {"auth_ip": ["2001:db8::1", "198.51.100.4"], "role_name": "client"}
    assert {key: user[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("client_id", "7", "Not a valid integer."),
        ("card_id", 0, "Must be between 1 and 2147483647."),
        ("auth_ip", "198.51.100.4", "Must be a list of IP addresses."),
        ("auth_ip", ["198.51.100.400"], "Must be a list of IP addresses."),
        ("auth_ip", None, "Must be a list of IP addresses."),
        ("auth_ip", [f"198.51.100.{n}" for n in range(51)], "At most 50 addresses are allowed."),
        ("report_group", 1, "Not a valid boolean."),
        ("landing_page", "x" * 256, "Longer than maximum length 255."),
        ("default_mod", "a\nb", "Must not contain control characters."),
    ],
)
def test_create_refuses_bad_attributes(client, admin_headers, user_names, field, value, message):
    before = user_names()
    response = client.post("/v1/user/create", json={"name": "bad", field: value}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == {"success": False, "error_type": "validation_error", "errors": {field: [message]}}
    assert user_names() == before


def test_values_come_from_the_database(app, client, admin_headers):
    with db.state(app).sessionmaker() as session, session.begin():
        session.execute(
            update(User)
            .where(User.user_id == VIEWER1_ID)
            .values(landing_page="/cdr", avatar_id=77, auth_ip=["2001:db8::1"], all_termination=True)
        )
        session.execute(text("UPDATE roles SET role_name = 'auditor' WHERE role_id = 5"))
    user = client.get(f"/v1/user/{VIEWER1_ID}", headers=admin_headers).json["payload"]
    assert (user["landing_page"], user["avatar_id"], user["auth_ip"]) == ("/cdr", 77, ["2001:db8::1"])
    assert (user["all_termination"], user["role_name"]) == (True, "auditor")


def test_no_secret_in_any_user_object(client, admin_headers):
    login = client.post("/v1/auth", json={"email_or_name": "admin", "password": "admin-demo"})
    users = [login.json["payload"]["user"]]
    users += client.get("/v1/user/list", headers=admin_headers).json["payload"]["items"]
    for user in users:
        assert not [key for key in user if any(word in key for word in SECRET_WORDS)]
        assert "$argon2" not in str(user)


def test_the_openapi_document_declares_the_attributes(client):
    spec = client.get("/openapi.json").json
    user = spec["components"]["schemas"]["UserObject"]["properties"]
    assert (user["client_id"]["type"], user["client_id"]["nullable"]) == ("integer", True)
    assert user["auth_ip"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": user["auth_ip"]["description"],
    }
    assert (user["report_group"]["type"], user["default_mod2"]["type"]) == ("boolean", "string")
    response = spec["paths"]["/v1/user/{user_id}"]["get"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/UserResponse"}


def test_migrations_match_the_models(app):
    with db.engine(app).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_existing_users_get_the_empty_values_on_upgrade(tmp_path):
    with sqlite_at_revision("svc_bulkuser", "0001", tmp_path / "old.db") as (config, engine):
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (user_id, name, user_type, active, create_time)"
                    " VALUES (7, 'old', 'agent', 1, '2024-01-01 00:00:00')"
                )
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT auth_ip, report_group, all_termination, client_id FROM users WHERE user_id = 7")
            ).one()
        assert tuple(row) == ("[]", 0, 0, None)
        indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' ORDER BY name"
        with engine.connect() as connection:
            upgraded_indexes = connection.execute(text(indexes)).all()
        command.downgrade(config, "0001")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT user_id, name FROM users")).all() == [(7, "old")]
            assert connection.execute(text(indexes)).all() == upgraded_indexes

"""Demo data (idempotent), settings and migrations."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from svc_wipe import create_app
from svc_wipe.config import load_config
from svc_wipe.models import Base
from vendorkit import db
from vendorkit.config import ConfigError


def test_demo_records(run_sql):
    assert run_sql("SELECT id, domainname FROM domains ORDER BY id") == [
        (1, "example.com"),
        (2, "example.org"),
    ]
    assert run_sql("SELECT id, username, domain_id FROM users ORDER BY id") == [
        (0, "admin", None),
        (1, "helpdesk@example.com", 1),
        (2, "example", 1),
        (3, "alice@example.com", 1),
        (4, "bob@example.org", 2),
    ]
    assert run_sql("SELECT user_id, domain_id, role FROM user_roles") == [(1, 1, "DomainAdminRO")]
    assert run_sql("SELECT user_id, device_id, status FROM devices ORDER BY device_id") == [
        (3, "ALICEPHONE01", 1),
        (3, "ALICETABLET01", 2),
    ]
    hashes = [row[0] for row in run_sql("SELECT password_hash FROM users")]
    assert all(value.startswith("$argon2id$") for value in hashes)
    assert len(set(hashes)) == len(hashes)


@pytest.mark.parametrize(
    ("user", "password"), [("admin", "admin-demo"), ("helpdesk@example.com", "helpdesk-demo")]
)
def test_demo_logins(client, user, password):
    assert client.post("/api/v1/login", data={"user": user, "pass": password}).status_code == 200


def test_demo_loading_adds_missing_records_and_keeps_existing_ones(app, client, admin, run_sql):
    assert (
        client.post(
            "/api/v1/service/wipe/alice@example.com?devices=ALICETABLET01", json={"status": 8}
        ).status_code
        == 201
    )
    assert admin.delete("/api/v1/domains/2/users/4", headers=admin.csrf).status_code == 200
    run_sql("DELETE FROM devices WHERE device_id = 'ALICEPHONE01'")

    again = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "DEMO_DATA": True})
    db.engine(again).dispose()

    assert run_sql("SELECT device_id, status FROM devices ORDER BY device_id") == [
        ("ALICEPHONE01", 1),
        ("ALICETABLET01", 8),
    ]
    assert run_sql("SELECT username, domain_id FROM users WHERE username = 'bob@example.org'") == [
        ("bob@example.org", 2)
    ]
    assert run_sql("SELECT count(*) FROM users")[0][0] == 5
    assert run_sql("SELECT count(*) FROM user_roles")[0][0] == 1


def test_without_demo_data_the_database_is_empty(tmp_path, make_app):
    app = make_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path}/empty.db", "DEMO_DATA": False, "SECRET_KEY": "x" * 40}
    )
    with db.engine(app).connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM users").scalar() == 0
    response = app.test_client().get("/api/v1/service/wipe/admin")
    assert response.status_code == 404


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning", "ignore:.*expression-based index")
def test_migrations_match_the_models(app):
    with db.engine(app).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_production_guard():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({"DATABASE_URL": "sqlite:///x.db", "DEMO_DATA": False})
    settings = load_config({"DATABASE_URL": "sqlite:///x.db", "DEMO_DATA": False, "SECRET_KEY": "own-secret"})
    assert settings["JWT_EXPIRES_AFTER"] == 604800


@pytest.mark.parametrize(("name", "value"), [("SYNC_POLICY_HOSTS", "localhost"), ("JWT_EXPIRES_AFTER", 0)])
def test_bad_settings_are_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config({"DEMO_DATA": True, name: value})


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("SYNC_POLICY_HOSTS", "10.0.0.1")
    monkeypatch.setenv("JWT_EXPIRES_AFTER", "60")
    settings = load_config({"DEMO_DATA": True})
    assert settings["JWT_EXPIRES_AFTER"] == 60
    assert [str(network) for network in settings["SYNC_POLICY_NETWORKS"]] == ["10.0.0.1/32"]


def test_health(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200

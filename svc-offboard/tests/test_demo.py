"""Demo data (inserted where missing, never reset) and migrations (in step with the models)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from svc_offboard import create_app
from svc_offboard.models import Base
from vendorkit import db

API = "/webconsole/api"


def test_demo_data_is_loaded_once_and_never_reset(tmp_path, b64):
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path}/demo.db", "DEMO_DATA": True}
    app = create_app(settings)
    client = app.test_client()
    password = b64("admin-demo")
    token = client.post(f"{API}/Login", json={"username": "admin", "password": password}).json["token"]
    headers = {"Authtoken": token}
    assert client.post(f"{API}/User/Offboard", json={"userId": 5}, headers=headers).json["errorCode"] == 0
    client.post(
        f"{API}/Subclient/131",
        json={"subClientProperties": {"commonProperties": {"enableBackup": False}}},
        headers=headers,
    )
    db.engine(app).dispose()

    restarted = create_app(settings).test_client()
    # The token survived the restart; kim stays offboarded; nothing was duplicated or reset.
    assert [
        u["userEntity"]["userId"] for u in restarted.get(f"{API}/User", headers=headers).json["users"]
    ] == [1, 5, 6]
    kim_laptop = restarted.get(f"{API}/Client/11", headers=headers).json["clientProperties"][0]
    assert kim_laptop["clientProps"]["clientSecurity"] == {"clientOwners": ""}
    sub = restarted.get(f"{API}/Subclient/131", headers=headers).json["subClientProperties"][0]
    assert sub["commonProperties"]["enableBackup"] is False
    kim = restarted.get(f"{API}/User/5", headers=headers).json["users"][0]
    assert len(kim["securityAssociations"]["associations"]) == 1


def test_migrations_match_the_models(app):
    with db.engine(app).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

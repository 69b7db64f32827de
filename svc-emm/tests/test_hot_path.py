"""The token-authenticated read: never cached, one pooled connection, and database failures in the envelope."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import event, text

from svc_emm import create_app
from svc_emm.auth import issue_tokens
from vendorkit import db
from vendorkit.testing import ServerProcess, http_request, quick_password_hashing

COUNT = "/mdm-admin/users/count"
LIST_FAULT = {"errorMessage": "Error occurred while retrieving the list of users"}


def test_a_token_revoked_or_expired_through_another_process_is_refused_at_once(
    app, client, token_for, expire_tokens
):
    served = ServerProcess(
        "svc_emm:create_app()",
        env={"DATABASE_URL": app.config["DATABASE_URL"], "RUN_MIGRATIONS": "0", "LOG_LEVEL": "WARNING"},
    ).start()
    try:
        revoked, expired = token_for("admin"), token_for("admin")

        def count(pair) -> int:
            headers = {"Authorization": "Bearer " + pair["access_token"]}
            return http_request("GET", served.url + COUNT, headers=headers).status

        assert (count(revoked), count(expired)) == (200, 200)
        assert client.post("/oauth2/revoke", data={"token": revoked["refresh_token"]}).status_code == 200
        assert count(revoked) == 401
        assert count(expired) == 200
        expire_tokens()
        assert count(expired) == 401
    finally:
        served.stop()


@pytest.mark.parametrize(
    "path", [COUNT, "/mdm-admin/users/view?username=kim", "/mdm-admin/users/devices?username=kim"]
)
def test_a_read_checks_its_token_and_answers_on_one_pooled_connection(app, client, admin_headers, path):
    checkouts = []
    event.listen(db.engine(app), "checkout", lambda *_args: checkouts.append(1))
    response = client.get(path, headers=admin_headers)
    assert response.status_code == 200
    assert len(checkouts) == 1


def test_a_failing_token_lookup_is_the_endpoints_server_fault(app, client, admin_headers):
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("ALTER TABLE emm_tokens RENAME TO emm_tokens_gone"))
    response = client.get(COUNT, headers=admin_headers)
    assert response.status_code == 500  # a missing table is a bug, not an outage
    assert response.json == LIST_FAULT


def test_a_connection_lost_under_the_read_is_a_503_and_the_next_read_reconnects(postgres):
    url = postgres.create_database("emm_hot_path")
    with quick_password_hashing():
        app = create_app({"DATABASE_URL": url, "DEMO_DATA": True, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    try:
        with app.app_context(), db.unit_of_work() as session:
            headers = {
                "Authorization": "Bearer " + issue_tokens(session, app.config, "admin")["access_token"]
            }
        assert client.get(COUNT, headers=headers).json == 5
        # Kill the pooled connection's backend; the next read uses it within the idle-ping
        # interval, so the driver's error itself must be recognised as an outage.
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        time.sleep(0.1)
        lost = client.get(COUNT, headers=headers)
        assert (lost.status_code, lost.json) == (503, LIST_FAULT)
        assert client.get(COUNT, headers=headers).json == 5
    finally:
        db.engine(app).dispose()

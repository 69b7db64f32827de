"""svc-leaver's configuration as a real process sees it: refused at start naming the field, secrets
only from the environment, only the configured targets usable, unreachable vendors retried."""

from __future__ import annotations

import pytest
import yaml

from vendorkit.testing import LEAVER_SECRETS, ServerProcess, free_port

from .conftest import leaver_config, start_leaver


def start_failure(stack, tmp_path, config: dict | None, **env: str) -> str:
    """Start svc-leaver with ``config`` and ``env``; it must refuse to start. Its log."""
    environment = {
        "DATABASE_URL": stack.postgres.create_database("leaver_refused"),
        "DEMO_DATA": "1",
        **LEAVER_SECRETS,
        **env,
    }
    if config is not None:
        path = tmp_path / "leaver.yaml"
        path.write_text(yaml.safe_dump(config))
        environment["LEAVER_CONFIG"] = str(path)
    process = ServerProcess("svc_leaver:create_app()", env=environment, log_path=tmp_path / "refused.log")
    with pytest.raises(RuntimeError, match="did not start"):
        process.start(timeout=60)
    return process.log_path.read_text()


def wso2_only(base_url: str, **wso2) -> dict:
    return {"targets": {"wso2": {"base_url": base_url, "username": "admin", **wso2}}}


@pytest.mark.parametrize(
    "config, env, message",
    [
        # A secret written into the file is refused: the file names variables, never values.
        (
            wso2_only("http://127.0.0.1:9", password="admin-demo"),
            {},
            "targets.wso2.password: unknown field",
        ),
        (
            wso2_only("http://127.0.0.1:9", password_env="LEAVER_NOT_SET"),
            {},
            "targets.wso2.password_env: environment variable LEAVER_NOT_SET is not set",
        ),
        (
            wso2_only("http://127.0.0.1:9", password_env="LEAVER_WSO2_PASSWORD"),
            {"DEMO_DATA": "0", "LEAVER_API_TOKEN": "leaver-demo-token"},
            "LEAVER_API_TOKEN: the demo value is refused",
        ),
    ],
)
def test_a_bad_configuration_stops_the_start_naming_the_field(stack, tmp_path, config, env, message):
    log = start_failure(stack, tmp_path, config, **env)
    assert message in log
    assert "admin-demo" not in log


@pytest.fixture
def partial_leaver(stack, redis_server, gateway, tmp_path):
    """svc-leaver configured with two targets only: wso2 where nothing listens, dnl at a wrong path."""
    config = leaver_config(
        dict.fromkeys(("grommunio", "dnl", "commvault", "wso2", "aktion"), gateway.url), attempts=3
    )
    config["targets"] = {
        "wso2": {**config["targets"]["wso2"], "base_url": f"http://127.0.0.1:{free_port()}"},
        "dnl": {**config["targets"]["dnl"], "base_url": f"{gateway.url}/v1/no-such-api"},
    }
    running = start_leaver(stack, redis_server, tmp_path, config)
    yield running
    running.process.stop()


def test_a_target_missing_from_the_configuration_is_a_400_problem(partial_leaver):
    answer = partial_leaver.request(
        "POST", "/leaver/v1/runs", json={"person": "E-1", "accounts": {"wso2": "kim", "commvault": "kim"}}
    )
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["errors"] == {"accounts.commvault": "Target commvault is not configured."}
    assert "accounts.commvault" in problem["detail"]
    assert partial_leaver.request("GET", "/leaver/v1/runs").json() == {"runs": []}


def test_a_vendor_nobody_listens_for_is_retried_then_failed_with_vendor_null(partial_leaver):
    run = partial_leaver.wait(partial_leaver.start_run({"wso2": "kim"})["id"])
    target = run["targets"]["wso2"]
    assert (run["status"], target["status"], target["vendor"]) == ("failed", "failed", None)
    events = partial_leaver.audit(run["id"])
    # The login cannot be sent either: three tries, each a connection failure, no removal (0 attempts).
    assert target["attempts"] == 0
    answers = [e["data"] for e in events if e["type"] == "response"]
    assert len(answers) == 3
    assert all(a["status"] is None and a["error"].startswith("connection failed") for a in answers)
    retries = [e["data"]["reason"] for e in events if e["type"] == "retry_scheduled"]
    assert len(retries) == 2 and all(reason.startswith("login: connection failed") for reason in retries)


def test_a_refused_login_fails_the_target_at_once_with_the_vendors_answer(partial_leaver):
    run = partial_leaver.wait(partial_leaver.start_run({"dnl": "kim@example.com"})["id"])
    target = run["targets"]["dnl"]
    assert (target["status"], target["attempts"]) == ("failed", 0)
    # dnl's 404 has no error member: its message is the error_type.
    assert target["vendor"] == {"status": 404, "code": None, "message": "Object not found error"}
    assert not [e for e in partial_leaver.audit(run["id"]) if e["type"] == "retry_scheduled"]

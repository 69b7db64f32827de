"""The API in process (Flask test client, SQLite, no queue consumer): what needs no vendor."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from svc_leaver import create_app
from vendorkit.config import ConfigError

AUTH = {"Authorization": "Bearer leaver-demo-token"}


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """A configuration with only wso2 and aktion."""
    monkeypatch.setenv("LEAVER_WSO2_PASSWORD", "w")
    monkeypatch.setenv("LEAVER_AKTION_API_KEY", "a")
    path = tmp_path / "leaver.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "targets": {
                    "wso2": {
                        "base_url": "http://127.0.0.1:9",
                        "username": "admin",
                        "password_env": "LEAVER_WSO2_PASSWORD",
                    },
                    "aktion": {
                        "base_url": "http://127.0.0.1:9",
                        "username": "api",
                        "api_key_env": "LEAVER_AKTION_API_KEY",
                    },
                }
            }
        )
    )
    return path


@pytest.fixture
def client(tmp_path, config_file):
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/leaver.db",
            "DEMO_DATA": True,
            "LEAVER_CONFIG": str(config_file),
            "LEAVER_CONSUMER": "none",
        }
    )
    return app.test_client()


def test_a_target_missing_from_the_configuration_is_a_400_problem(client):
    answer = client.post(
        "/leaver/v1/runs",
        json={"person": "E-1", "accounts": {"wso2": "kim", "dnl": "kim@example.com"}},
        headers=AUTH,
    )
    assert answer.status_code == 400
    assert answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert "accounts.dnl" in problem["detail"]
    assert problem["errors"] == {"accounts.dnl": "Target dnl is not configured."}
    assert client.get("/leaver/v1/runs", headers=AUTH).get_json() == {"runs": []}


def test_the_list_holds_twenty_runs_by_default(client):
    for number in range(21):
        answer = client.post(
            "/leaver/v1/runs", json={"person": f"E-{number}", "accounts": {"wso2": "kim"}}, headers=AUTH
        )
        assert answer.status_code == 202
    runs = client.get("/leaver/v1/runs", headers=AUTH).get_json()["runs"]
    assert len(runs) == 20
    assert runs[0]["person"] == "E-20" and runs[-1]["person"] == "E-1"
    assert all(run["status"] == "pending" and run["finished"] is None for run in runs)


def test_unknown_paths_and_methods_are_problems(client):
    assert client.get("/leaver/v1/nothing", headers=AUTH).get_json()["status"] == 404
    answer = client.delete("/leaver/v1/runs", headers=AUTH)
    assert answer.status_code == 405 and answer.mimetype == "application/problem+json"


def test_an_invalid_configuration_stops_the_start_naming_the_field(tmp_path, monkeypatch):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "targets:\n  wso2: {base_url: http://x, username: admin, password_env: NOT_SET_ANYWHERE}\n"
    )
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(
        ConfigError, match=r"^targets\.wso2\.password_env: environment variable NOT_SET_ANYWHERE"
    ):
        create_app(
            {"DATABASE_URL": f"sqlite:///{tmp_path}/l.db", "DEMO_DATA": True, "LEAVER_CONFIG": str(path)}
        )


def test_make_run_serves_it_on_8106_behind_the_gateways_leaver_route():
    root = Path(__file__).resolve().parents[2]
    assert "'svc_leaver:create_app()@127.0.0.1:8106'" in (root / "Procfile").read_text()
    gateway = yaml.safe_load((root / "gateway" / "src" / "gateway" / "demo.yaml").read_text())
    [route] = [route for route in gateway["routes"] if route["name"] == "leaver"]
    assert (route["prefixes"], route["dialect"], route["upstreams"]) == (
        ["/leaver/"],
        "problem",
        ["http://127.0.0.1:8106"],
    )
    names = [route["name"] for route in gateway["routes"]]
    assert names == ["wipe", "bulkuser", "offboard", "emm", "agenda", "leaver"]

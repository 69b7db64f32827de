"""Outside demo mode a service refuses to start without DATABASE_URL or with a demo secret, naming the variable."""

import importlib
import os
import subprocess
import sys

import pytest
from deploy_helpers import COMPOSE_LEAVER_CONFIG, REPO_ROOT, SERVICES, component

from vendorkit.config import ConfigError
from vendorkit.testing import free_port

PACKAGES = [component(name).package for name in SERVICES]
# Anything of the outer environment that would change what a service reads.
SETTINGS_PREFIXES = (
    "DATABASE_URL",
    "DEMO_DATA",
    "SECRET_KEY",
    "GUNICORN_",
    "SERVE_",
    "RUN_MIGRATIONS",
    "GATEWAY_CONFIG",
    "LEAVER_",
)
# What a service needs besides a database and its secrets, as its deployment gives it:
# svc-leaver's vendors (the compose file, with its five secrets) and, the API only
# queueing, no consumer in the web process.
LEAVER_VENDOR_SECRETS = (
    "LEAVER_GROMMUNIO_PASSWORD",
    "LEAVER_DNL_PASSWORD",
    "LEAVER_COMMVAULT_PASSWORD",
    "LEAVER_WSO2_PASSWORD",
    "LEAVER_AKTION_API_KEY",
)
DEPLOYED_WITH = {
    "svc_leaver": {
        "LEAVER_CONFIG": str(COMPOSE_LEAVER_CONFIG),
        "LEAVER_CONSUMER": "none",
        **{name: f"{name.lower()}-value" for name in LEAVER_VENDOR_SECRETS},
    }
}


def demo_secrets(package: str) -> dict[str, str]:
    return importlib.import_module(f"{package}.config").DEMO_SECRETS


def production_env(package: str, tmp_path, **changes: str | None) -> dict[str, str]:
    """A production-like environment: demo mode off, a database, fresh secrets; then ``changes``."""
    env = {
        "DEMO_DATA": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path}/{package}.db",
        **DEPLOYED_WITH.get(package, {}),
        **{name: f"{name.lower()}-{os.urandom(8).hex()}" for name in demo_secrets(package)},
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.fixture
def clean_environ(monkeypatch):
    for name in list(os.environ):
        if name.startswith(SETTINGS_PREFIXES) or name in demo_secrets_of_all():
            monkeypatch.delenv(name)
    return monkeypatch


def demo_secrets_of_all() -> set[str]:
    return {name for package in PACKAGES for name in demo_secrets(package)}


def create_app_with(monkeypatch, package: str, env: dict[str, str]):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return importlib.import_module(package).create_app()


@pytest.mark.parametrize("package", PACKAGES)
def test_starts_with_a_database_and_secrets_of_its_own(clean_environ, package, tmp_path):
    app = create_app_with(clean_environ, package, production_env(package, tmp_path))
    assert app.config["DEMO_DATA"] is False
    assert app.test_client().get("/readyz").json == {"status": "ready"}


@pytest.mark.parametrize("package", PACKAGES)
def test_refuses_to_start_without_database_url(clean_environ, package, tmp_path):
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: required .* outside demo mode"):
        create_app_with(clean_environ, package, production_env(package, tmp_path, DATABASE_URL=None))


@pytest.mark.parametrize(
    ("package", "secret"),
    [(p, s) for p in PACKAGES for s in demo_secrets(p)] or [pytest.param(None, None, marks=pytest.mark.skip)],
)
def test_refuses_to_start_with_a_demo_secret(clean_environ, package, secret, tmp_path):
    env = production_env(package, tmp_path, **{secret: demo_secrets(package)[secret]})
    with pytest.raises(ConfigError, match=rf"^{secret}: the demo value is refused outside demo mode"):
        create_app_with(clean_environ, package, env)


@pytest.mark.parametrize(
    ("package", "secret"),
    [(p, s) for p in PACKAGES for s in demo_secrets(p)] or [pytest.param(None, None, marks=pytest.mark.skip)],
)
def test_refuses_to_start_without_a_secret(clean_environ, package, secret, tmp_path):
    # An unset secret falls back to its demo value, which is then refused: either way the error names it.
    with pytest.raises(ConfigError, match=rf"^{secret}: .*outside demo mode"):
        create_app_with(clean_environ, package, production_env(package, tmp_path, **{secret: None}))


@pytest.mark.parametrize("package", PACKAGES)
def test_demo_mode_accepts_the_demo_values(clean_environ, package, tmp_path):
    env = {
        "DEMO_DATA": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
        **DEPLOYED_WITH.get(package, {}),
        **demo_secrets(package),
    }
    assert create_app_with(clean_environ, package, env).config["DEMO_DATA"] is True


def test_svc_leaver_refuses_to_start_without_its_vendors_file(clean_environ, tmp_path):
    env = production_env("svc_leaver", tmp_path, LEAVER_CONFIG=None)
    with pytest.raises(ConfigError, match=r"^LEAVER_CONFIG: required .* outside demo mode"):
        create_app_with(clean_environ, "svc_leaver", env)


def test_svc_leaver_refuses_to_start_without_a_vendor_secret(clean_environ, tmp_path):
    env = production_env("svc_leaver", tmp_path, LEAVER_WSO2_PASSWORD=None)
    with pytest.raises(ConfigError, match=r"^targets\.wso2\.password_env: .*LEAVER_WSO2_PASSWORD is not set"):
        create_app_with(clean_environ, "svc_leaver", env)


def image_command(app: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The image's command, as a process, until it exits (it must: the app refuses to load)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(SETTINGS_PREFIXES) and k not in demo_secrets_of_all()
    }
    return subprocess.run(
        [sys.executable, "-m", "vendorkit.serve"],
        env={**base, "SERVE_APP": app, "SERVE_BIND": f"127.0.0.1:{free_port()}", **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.e2e
def test_the_image_command_exits_non_zero_naming_the_missing_database_url(tmp_path):
    # One service stands for the six: each refuses in create_app (tested above), and
    # what is checked here is that the image's command then exits non-zero.
    package = "svc_offboard"
    result = image_command(f"{package}:create_app()", production_env(package, tmp_path, DATABASE_URL=None))
    assert result.returncode != 0
    assert "DATABASE_URL: required" in result.stdout + result.stderr


@pytest.mark.e2e
def test_the_image_command_exits_non_zero_naming_the_demo_secret(tmp_path):
    package = "svc_leaver"
    secret, demo_value = next(iter(demo_secrets(package).items()))
    result = image_command(
        f"{package}:create_app()", production_env(package, tmp_path, **{secret: demo_value})
    )
    assert result.returncode != 0
    assert f"{secret}: the demo value is refused" in result.stdout + result.stderr


@pytest.mark.e2e
def test_the_gateway_command_exits_non_zero_when_its_config_is_invalid(tmp_path):
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "routes:\n  - {name: wipe, prefixes: [/api/v1/], dialect: nosuch, upstreams: [http://svc-wipe:8000]}\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--bind", f"127.0.0.1:{free_port()}", "--workers", "2"],
        env={**base, "GATEWAY_CONFIG": str(config)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "routes[0].dialect" in result.stdout + result.stderr

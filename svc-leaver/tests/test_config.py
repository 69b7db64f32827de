"""The YAML configuration and the service settings: every mistake stops the start, naming the field."""

from __future__ import annotations

import re

import pytest

from svc_leaver.config import PACKAGED_DEMO_CONFIG, load_config, load_leaver_config, parse_leaver_config
from vendorkit.config import ConfigError

SECRETS = {
    "LEAVER_GROMMUNIO_PASSWORD": "g",
    "LEAVER_DNL_PASSWORD": "d",
    "LEAVER_COMMVAULT_PASSWORD": "c",
    "LEAVER_WSO2_PASSWORD": "w",
    "LEAVER_AKTION_API_KEY": "a",
}


def document(**changes):
    base = {
        "targets": {
            "wso2": {
                "base_url": "https://emm.example.com/",
                "username": "admin",
                "password_env": "LEAVER_WSO2_PASSWORD",
            },
            "aktion": {
                "base_url": "http://aktion.example.com/AktionNEXT/API",
                "username": "api",
                "api_key_env": "LEAVER_AKTION_API_KEY",
            },
        },
        "retry": {"attempts": 3, "base_delay_ms": 100, "max_delay_ms": 1000},
        "timeouts": {"connect": 1, "read": 5},
    }
    base.update(changes)
    return base


def test_the_packaged_demo_configuration_reads_secrets_from_the_environment():
    config = load_leaver_config(PACKAGED_DEMO_CONFIG, SECRETS)
    assert list(config.targets) == ["grommunio", "dnl", "commvault", "wso2", "aktion"]
    assert (
        config.targets["aktion"].secret == "a"
        and config.targets["aktion"].secret_env == "LEAVER_AKTION_API_KEY"
    )
    assert config.targets["wso2"].base_url == "http://127.0.0.1:8080"
    assert (config.retry.attempts, config.retry.base_delay_ms, config.retry.max_delay_ms) == (5, 200, 5000)
    assert (config.timeouts.connect, config.timeouts.read) == (2, 30)


def test_a_valid_document_is_parsed_with_trailing_slashes_removed():
    config = parse_leaver_config(document(), SECRETS)
    assert config.targets["wso2"].base_url == "https://emm.example.com"
    assert config.retry.attempts == 3 and config.timeouts.read == 5


def test_retry_and_timeouts_have_defaults():
    config = parse_leaver_config({"targets": document()["targets"]}, SECRETS)
    assert (config.retry.attempts, config.timeouts.connect) == (5, 2.0)


@pytest.mark.parametrize(
    "changes, environ, field",
    [
        ({}, {}, "targets.wso2.password_env"),
        ({"targets": {"okta": {}}}, SECRETS, "targets.okta"),
        ({"targets": {}}, SECRETS, "targets"),
        (
            {
                "targets": {
                    "wso2": {"base_url": "ftp://x", "username": "a", "password_env": "LEAVER_WSO2_PASSWORD"}
                }
            },
            SECRETS,
            "targets.wso2.base_url",
        ),
        (
            {
                "targets": {
                    "wso2": {"base_url": "http://x", "username": "", "password_env": "LEAVER_WSO2_PASSWORD"}
                }
            },
            SECRETS,
            "targets.wso2.username",
        ),
        (
            {"targets": {"wso2": {"base_url": "http://x", "username": "a", "password": "secret"}}},
            SECRETS,
            "targets.wso2.password",
        ),
        (
            {"targets": {"aktion": {"base_url": "http://x", "username": "a", "password_env": "X"}}},
            SECRETS,
            "targets.aktion.password_env",
        ),
        ({"retry": {"attempts": 0}}, SECRETS, "retry.attempts"),
        ({"retry": {"attempts": True}}, SECRETS, "retry.attempts"),
        ({"retry": {"base_delay_ms": 500, "max_delay_ms": 100}}, SECRETS, "retry.max_delay_ms"),
        ({"retry": {"jitter": "full"}}, SECRETS, "retry.jitter"),
        ({"timeouts": {"read": 0}}, SECRETS, "timeouts.read"),
        ({"timeouts": {"connect": "2s"}}, SECRETS, "timeouts.connect"),
        ({"extra": 1}, SECRETS, "configuration.extra"),
    ],
)
def test_an_invalid_document_names_the_field(changes, environ, field):
    with pytest.raises(ConfigError, match="^" + re.escape(field)):
        parse_leaver_config(document(**changes), environ)


def test_an_unreadable_or_malformed_file_names_leaver_config(tmp_path):
    with pytest.raises(ConfigError, match=r"^LEAVER_CONFIG: cannot read"):
        load_leaver_config(tmp_path / "missing.yaml", SECRETS)
    broken = tmp_path / "broken.yaml"
    broken.write_text("targets: [unclosed")
    with pytest.raises(ConfigError, match=r"^LEAVER_CONFIG: .* is not valid YAML"):
        load_leaver_config(broken, SECRETS)


def test_outside_demo_mode_the_demo_token_and_a_missing_configuration_are_refused(monkeypatch, tmp_path):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/l.db")
    monkeypatch.setenv("DEMO_DATA", "0")
    monkeypatch.setenv("LEAVER_CONFIG", str(PACKAGED_DEMO_CONFIG))
    monkeypatch.setenv("LEAVER_API_TOKEN", "leaver-demo-token")
    with pytest.raises(ConfigError, match=r"^LEAVER_API_TOKEN: the demo value is refused"):
        load_config()
    monkeypatch.setenv("LEAVER_API_TOKEN", "a-real-secret-token")
    assert load_config()["LEAVER"].targets["dnl"].secret == "d"
    monkeypatch.delenv("LEAVER_CONFIG")
    with pytest.raises(ConfigError, match=r"^LEAVER_CONFIG: required"):
        load_config()


def test_the_lease_outlasts_the_longest_request(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    settings = load_config({"DEMO_DATA": True, "DATABASE_URL": "sqlite://"})
    assert settings["LEAVER_LEASE_SECONDS"] > 2 + 30

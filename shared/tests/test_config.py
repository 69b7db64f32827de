"""Settings from the environment and the production guard."""

import pytest

from vendorkit.config import ConfigError, load_settings

DEMO = {"SECRET_KEY": "demo-secret"}


def load(environ, **overrides):
    return load_settings(
        "svc-x", {"TOKEN_TTL": 60, "STRICT": False}, demo_secrets=DEMO, environ=environ, overrides=overrides
    )


def test_values_are_coerced_by_the_defaults_type():
    settings = load({"DEMO_DATA": "1", "TOKEN_TTL": "5", "STRICT": "true"})
    assert settings["TOKEN_TTL"] == 5 and settings["STRICT"] is True and settings["DEMO_DATA"] is True
    assert settings["DATABASE_URL"] == "sqlite:///var/svc-x.db"


def test_a_bad_value_names_the_variable():
    with pytest.raises(ConfigError, match=r"^TOKEN_TTL: expected an integer"):
        load({"DEMO_DATA": "1", "TOKEN_TTL": "soon"})
    with pytest.raises(ConfigError, match=r"^TRUSTED_PROXIES:"):
        load({"DEMO_DATA": "1", "TRUSTED_PROXIES": "10.0.0.0/99"})


def test_outside_demo_mode_a_database_url_is_required():
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: required"):
        load({"SECRET_KEY": "real"})


def test_outside_demo_mode_the_demo_secret_is_refused():
    with pytest.raises(ConfigError, match=r"^SECRET_KEY: the demo value is refused"):
        load({"DATABASE_URL": "postgresql://db/x"})
    with pytest.raises(ConfigError, match=r"^SECRET_KEY: required"):
        load({"DATABASE_URL": "postgresql://db/x", "SECRET_KEY": ""})
    assert load({"DATABASE_URL": "postgresql://db/x", "SECRET_KEY": "real"})["SECRET_KEY"] == "real"

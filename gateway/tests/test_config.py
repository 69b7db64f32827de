"""An invalid configuration stops the gateway at start, naming the field."""

import pytest
from gwsupport import route

from gateway import create_app
from gateway.config import ConfigError, load_config, parse_config

UPSTREAM = "http://127.0.0.1:9"


def parse(*routes, **top):
    return parse_config({"routes": list(routes), **top}, environ={})


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"routes": [route(dialect="soap", upstreams=[UPSTREAM])]}, "routes[0].dialect"),
        ({"routes": [route(upstreams=[UPSTREAM], ip_allow=["10.0.0.0/33"])]}, "routes[0].ip_allow[0]"),
        ({"routes": [route(upstreams=[UPSTREAM], ip_deny=["not-an-ip"])]}, "routes[0].ip_deny[0]"),
        (
            {"routes": [route(upstreams=[UPSTREAM], rate_limits=["20 per fortnight"])]},
            "routes[0].rate_limits[0]",
        ),
        (
            {"routes": [route(upstreams=[UPSTREAM], rate_limits=["5/second", "9/second"])]},
            "routes[0].rate_limits",
        ),
        (
            {"routes": [route(upstreams=[UPSTREAM]), route(name="other", upstreams=[UPSTREAM])]},
            "routes[1].prefixes[0]",
        ),
        (
            {"routes": [route(upstreams=[UPSTREAM]), route(prefixes=["/x/"], upstreams=[UPSTREAM])]},
            "routes[1].name",
        ),
        ({"routes": [route(upstreams=["ftp://example"])]}, "routes[0].upstreams[0]"),
        ({"routes": [route(upstreams=[])]}, "routes[0].upstreams"),
        ({"routes": [route(upstreams=[UPSTREAM], limit_by="cookie")]}, "routes[0].limit_by"),
        ({"routes": [route(upstreams=[UPSTREAM], timeouts={"connect": -1})]}, "routes[0].timeouts.connect"),
        ({"routes": [route(upstreams=[UPSTREAM], methods=["FETCH"])]}, "routes[0].methods"),
        ({"routes": [route(upstreams=[UPSTREAM], colour="blue")]}, "routes[0].colour"),
        ({"routes": ["wipe"]}, "routes[0]"),
        ({"routes": [route(upstreams=[UPSTREAM], timeouts={"write": 1})]}, "routes[0].timeouts.write"),
        (
            {"routes": [route(upstreams=[UPSTREAM], overrides=[{"path": "/api/v1/x", "burst": 5}])]},
            "routes[0].overrides[0].burst",
        ),
        ({"routes": [route(upstreams=[UPSTREAM])], "colour": "blue"}, "colour"),
        ({"routes": [route(upstreams=[UPSTREAM])], "admin": ["enabled"]}, "admin"),
        ({"routes": [route(upstreams=[UPSTREAM])], "journal": {"size": 5}}, "journal.size"),
        ({"routes": [route(upstreams=[UPSTREAM])], "trusted_proxies": ["300.1.1.1"]}, "trusted_proxies[0]"),
        ({"routes": [route(upstreams=[UPSTREAM])], "on_storage_failure": "maybe"}, "on_storage_failure"),
        (
            {"routes": [route(upstreams=[UPSTREAM])], "rate_limit_storage": "mongodb://x"},
            "rate_limit_storage",
        ),
        ({"routes": [route(upstreams=[UPSTREAM])], "max_body_bytes": "lots"}, "max_body_bytes"),
        ({"routes": []}, "routes"),
        (
            {
                "routes": [
                    route(upstreams=[UPSTREAM], overrides=[{"path": "/api/v1/login", "rate_limits": ["x"]}])
                ]
            },
            "routes[0].overrides[0].rate_limits[0]",
        ),
    ],
)
def test_an_invalid_field_is_named(raw, field):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, environ={})
    assert str(caught.value).startswith(field + ":"), str(caught.value)


def test_the_demo_configuration_is_valid_and_routes_every_service():
    config = load_config(environ={})
    assert [r.name for r in config.routes] == ["wipe", "bulkuser", "offboard", "emm", "agenda", "leaver"]
    prefixes = {p: r.name for r in config.routes for p in r.prefixes}
    assert prefixes == {
        "/api/v1/": "wipe",
        "/v1/": "bulkuser",
        "/webconsole/api/": "offboard",
        "/commandcenter/api/": "offboard",
        "/mdm-admin/": "emm",
        "/oauth2/": "emm",
        "/AktionNEXT/API/": "agenda",
        "/leaver/": "leaver",
    }
    for r in config.routes:
        # A test suite running flat out from one address is never refused.
        limits = {item.GRANULARITY.name: item.amount for item in r.rate_limits}
        assert limits["second"] >= 1000 and limits["minute"] >= 60000


def test_the_environment_chooses_the_rate_limit_storage():
    config = parse_config(
        {"routes": [route(upstreams=[UPSTREAM])], "rate_limit_storage": "memory://"},
        environ={"RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0"},
    )
    assert config.rate_limit_storage == "redis://127.0.0.1:6379/0"


def test_create_app_raises_on_a_bad_file(tmp_path, monkeypatch):
    bad = tmp_path / "gateway.yaml"
    bad.write_text(
        "routes:\n  - name: x\n    prefixes: [/x/]\n    dialect: corba\n    upstreams: [http://127.0.0.1:9]\n"
    )
    monkeypatch.setenv("GATEWAY_CONFIG", str(bad))
    with pytest.raises(ConfigError, match=r"^routes\[0\]\.dialect: unknown dialect 'corba'"):
        create_app()


def test_a_missing_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY_CONFIG", str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigError, match=r"^GATEWAY_CONFIG: cannot read"):
        create_app()

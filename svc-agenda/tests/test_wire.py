"""Dates in both notations, the client address rule, and which answers follow Accept."""

from datetime import datetime

import pytest

from svc_agenda import wire


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Date(1770200077469)/", datetime(2026, 2, 4, 10, 14, 37, 469000)),
        ("/Date(1770200077469+0100)/", datetime(2026, 2, 4, 10, 14, 37, 469000)),
        ("/Date(-1000)/", datetime(1969, 12, 31, 23, 59, 59)),
        ("2026-02-04T10:14:37.469Z", datetime(2026, 2, 4, 10, 14, 37, 469000)),
        ("2026-02-04T11:14:37+01:00", datetime(2026, 2, 4, 10, 14, 37)),
        ("2026-02-04T10:14:37", datetime(2026, 2, 4, 10, 14, 37)),
        ("2026-02-04", datetime(2026, 2, 4)),
    ],
)
def test_parse_date(text, expected):
    assert wire.parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["", "yesterday", "/Date(abc)/", "Date(5)", "2026-13-01", "/Date(999999999999999)/", "04.02.2026"]
)
def test_parse_date_refuses(text):
    with pytest.raises(ValueError):
        wire.parse_date(text)


def test_both_notations_of_one_moment():
    moment = datetime(2026, 2, 4, 10, 14, 37, 469999)
    assert wire.json_date(moment) == "/Date(1770200077469)/"
    assert wire.xml_date(moment) == "2026-02-04T10:14:37.469Z"
    assert wire.xml_date(datetime(1, 1, 1)) == "0001-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "198.51.100.1, 203.0.113.5", "203.0.113.5"),
        ("127.0.0.9", "203.0.113.5", "203.0.113.5"),  # all of 127.0.0.0/8 is trusted
        ("127.0.0.1", "127.0.0.2", "127.0.0.2"),  # the rightmost entry, even when it is loopback
        ("127.0.0.1", "::ffff:192.0.2.7", "192.0.2.7"),
        ("127.0.0.1", "not-an-address", "not-an-address"),  # matches no filter item
        ("192.0.2.50", "203.0.113.5", "192.0.2.50"),
        ("::1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(shared_app, peer, forwarded, expected):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with shared_app.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": peer}):
        assert wire.client_address() == expected


def test_only_the_api_answers_in_xml(client):
    xml = {"Accept": "application/xml"}
    api = client.post(
        "/AktionNEXT/API/login", json={"UserLogin": "api", "ApiKey": "api-demo-key"}, headers=xml
    )
    health = client.get("/healthz", headers=xml)
    assert api.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert (health.headers["Content-Type"], health.data) == (
        "application/json; charset=utf-8",
        b'{"status": "ok"}',
    )

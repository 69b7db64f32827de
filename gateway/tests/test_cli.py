"""The gateway command's arguments and its refusal to start half-configured."""

import argparse

import pytest

from gateway.cli import arguments, main, parse_bind


@pytest.mark.parametrize(
    ("text", "address"),
    [("127.0.0.1:8080", ("127.0.0.1", 8080)), ("[::1]:9000", ("::1", 9000)), (":80", ("0.0.0.0", 80))],
)
def test_bind_addresses(text, address):
    assert parse_bind(text) == address


@pytest.mark.parametrize("text", ["127.0.0.1", "host:port", "127.0.0.1:70000"])
def test_a_bad_bind_address_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="HOST:PORT"):
        parse_bind(text)


def test_binds_repeat_and_workers_default_to_one():
    args = arguments(["--bind", "127.0.0.1:1", "--bind", "[::1]:2"])
    assert (args.bind, args.workers) == ([("127.0.0.1", 1), ("::1", 2)], 1)
    assert arguments([]).bind == [("127.0.0.1", 8080)]


def test_zero_workers_is_an_error(capsys):
    with pytest.raises(SystemExit):
        arguments(["--workers", "0"])
    assert "--workers must be at least 1" in capsys.readouterr().err


def test_an_invalid_config_exits_non_zero_naming_the_field(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "gateway.yaml"
    bad.write_text(
        "routes:\n  - {name: x, prefixes: [/x/], dialect: corba, upstreams: [http://127.0.0.1:9]}\n"
    )
    monkeypatch.setenv("GATEWAY_CONFIG", str(bad))
    assert main(["--bind", "127.0.0.1:0"]) == 2
    assert "routes[0].dialect" in capsys.readouterr().err

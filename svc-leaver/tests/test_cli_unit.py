"""The ``leaver`` command's parsing and rendering (no server)."""

from __future__ import annotations

import pytest

from svc_leaver.cli import main, parse_accounts, render_table


def test_accounts_are_target_equals_account():
    assert parse_accounts(["commvault=kim", "dnl=kim@example.com", "aktion=Kim=Bar"]) == {
        "commvault": "kim",
        "dnl": "kim@example.com",
        "aktion": "Kim=Bar",
    }


@pytest.mark.parametrize("values", [["kim"], ["okta=kim"], ["wso2="], ["wso2=a", "wso2=b"]])
def test_malformed_accounts_are_refused(values):
    with pytest.raises(ValueError, match="--account"):
        parse_accounts(values)


def test_the_table_aligns_columns_and_ends_with_the_run_status():
    run = {
        "id": "r1",
        "dry_run": False,
        "status": "partial",
        "targets": {
            "commvault": {
                "account": "kim",
                "status": "done",
                "attempts": 1,
                "detail": "Successfully offboarded user 5",
            },
            "wso2": {"account": "admin", "status": "failed", "attempts": 1, "detail": None},
        },
    }
    lines = render_table(run).splitlines()
    assert lines[0].split() == ["TARGET", "ACCOUNT", "STATUS", "ATTEMPTS", "DETAIL"]
    assert lines[1].index("kim") == lines[2].index("admin") == lines[0].index("ACCOUNT")
    assert lines[1].endswith("Successfully offboarded user 5")
    assert lines[-1] == "run r1: partial"


def test_without_a_token_the_command_is_bad_usage(monkeypatch, capsys):
    monkeypatch.delenv("LEAVER_API_TOKEN", raising=False)
    assert main(["verify"]) == 2
    assert "LEAVER_API_TOKEN" in capsys.readouterr().err

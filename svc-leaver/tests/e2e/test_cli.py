"""The ``leaver`` command against a running svc-leaver: progress, final table, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from vendorkit.testing import free_port

from .conftest import TOKEN

LEAVER = [sys.executable, "-m", "svc_leaver.cli"]


def leaver_command(url: str, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess:
    """Run ``leaver`` with ``args`` against ``url``."""
    env = {**os.environ, "LEAVER_URL": url, "LEAVER_API_TOKEN": token}
    return subprocess.run([*LEAVER, *args], capture_output=True, text=True, env=env, timeout=60)


def test_offboard_shows_progress_and_the_final_table_and_exits_0(leaver, vendors):
    accounts = vendors.create_person(devices=2)
    arguments = [f"--account={name}={account}" for name, account in accounts.items()]
    result = leaver_command(leaver.url, "offboard", "--person", "E-1042", *arguments)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("run ") and lines[0].endswith("for E-1042")
    assert any("grommunio" in line and "pending" in line for line in lines)
    assert any("grommunio" in line and "done" in line and "2 devices" in line for line in lines)
    table_start = lines.index(next(line for line in lines if line.startswith("TARGET")))
    table = lines[table_start:]
    assert table[0].split() == ["TARGET", "ACCOUNT", "STATUS", "ATTEMPTS", "DETAIL"]
    assert [row.split()[0] for row in table[1:6]] == ["grommunio", "dnl", "commvault", "wso2", "aktion"]
    assert all(row.split()[2] == "done" for row in table[1:6])
    assert table[-1].endswith(": succeeded")
    run_id = lines[0].split()[1]

    shown = leaver_command(leaver.url, "show", run_id)
    assert shown.returncode == 0 and "succeeded" in shown.stdout and accounts["wso2"] in shown.stdout
    assert leaver_command(leaver.url, "show", "no-such-run").returncode == 1


def test_a_dry_run_that_is_planned_exits_0(leaver, vendors):
    accounts = vendors.create_person(devices=0)
    result = leaver_command(
        leaver.url, "offboard", "--person", "E-7", "--account", f"wso2={accounts['wso2']}", "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    assert "would_remove" in result.stdout and result.stdout.rstrip().endswith("planned (dry run)")


def test_a_partial_or_failed_run_exits_1(leaver, vendors):
    accounts = vendors.create_person(devices=0)
    partial = leaver_command(
        leaver.url,
        "offboard",
        "--person",
        "E-8",
        "--account",
        "wso2=admin",
        "--account",
        f"aktion={accounts['aktion']}",
    )
    assert partial.returncode == 1 and "partial" in partial.stdout
    failed = leaver_command(leaver.url, "offboard", "--person", "E-8", "--account", "wso2=admin")
    assert failed.returncode == 1 and failed.stdout.rstrip().endswith(": failed")


@pytest.mark.parametrize(
    "args",
    [
        ["offboard", "--account", "wso2=kim"],
        ["offboard", "--person", "E-1"],
        ["offboard", "--person", "E-1", "--account", "wso2"],
        ["offboard", "--person", "E-1", "--account", "okta=kim"],
        ["offboard", "--person", "E-1", "--account", "wso2=a", "--account", "wso2=b"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_usage_exits_2(leaver, args):
    result = leaver_command(leaver.url, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr


def test_a_bad_value_the_api_refuses_exits_3(leaver):
    result = leaver_command(leaver.url, "offboard", "--person", " ", "--account", "wso2=kim")
    assert result.returncode == 3
    assert "person" in result.stderr


def test_an_unreachable_or_refusing_api_exits_3(leaver):
    unreachable = leaver_command(
        f"http://127.0.0.1:{free_port()}", "offboard", "--person", "E", "--account", "wso2=kim"
    )
    assert unreachable.returncode == 3 and "cannot reach" in unreachable.stderr
    refused = leaver_command(leaver.url, "offboard", "--person", "E", "--account", "wso2=kim", token="wrong")
    assert refused.returncode == 3 and "401" in refused.stderr
    assert leaver_command(leaver.url, "verify", token="wrong").returncode == 3


def test_verify_exits_0_on_an_intact_chain(leaver):
    result = leaver_command(leaver.url, "verify")
    assert result.returncode == 0 and result.stdout.startswith("audit chain valid")


def test_without_leaver_url_the_command_calls_the_make_run_gateway():
    env = {key: value for key, value in os.environ.items() if key != "LEAVER_URL"}
    result = subprocess.run(
        [*LEAVER, "verify"],
        capture_output=True,
        text=True,
        env={**env, "LEAVER_API_TOKEN": "not-the-token"},
        timeout=60,
    )
    # Whether or not a `make run` stack is up on this machine, the command went to its gateway.
    assert result.returncode == 3
    assert "cannot reach http://127.0.0.1:8080" in result.stderr or "verify answered 401" in result.stderr

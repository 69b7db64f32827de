"""The plugin as a user meets it: installed, and asked for by a test suite of their own."""

from __future__ import annotations

import textwrap

import pytest
import requests

pytest_plugins = ["pytester"]

# A user's own Commvault client, and the tests they write for it with the plugin.
CLIENT = '''
import base64
import time

import requests

RETRYABLE = {502, 503, 504}


def offboard_user(base_url, username, *, password="admin-demo", attempts=3):
    """Log in to Commvault and offboard ``username``, retrying while the server is unavailable."""
    session = requests.Session()
    encoded = base64.b64encode(password.encode()).decode()
    login = session.post(
        f"{base_url}/webconsole/api/Login", json={"username": "admin", "password": encoded}, timeout=10
    )
    login.raise_for_status()
    headers = {"Authtoken": login.json()["token"], "Accept": "application/json"}
    for attempt in range(attempts):
        answer = session.post(
            f"{base_url}/webconsole/api/User/Offboard", json={"userName": username}, headers=headers, timeout=10
        )
        if answer.status_code not in RETRYABLE:
            break
        time.sleep(0.05 * 2**attempt)
    answer.raise_for_status()
    return answer.json()
'''

USER_TESTS = """
import pytest
import requests

from client import offboard_user

OFFBOARD = "/webconsole/api/User/Offboard"


def test_offboards_and_never_leaks_the_token(vendors):
    assert offboard_user(vendors.url, "kim")["errorCode"] == 0
    [call] = vendors.requests(route="offboard", path=OFFBOARD)
    assert call["status"] == 200
    assert call["request"]["headers"]["authtoken"] == "[redacted]"


def test_retries_while_commvault_is_unavailable(vendors):
    with vendors.fault(route="offboard", path=OFFBOARD, action="unavailable", times=2):
        assert offboard_user(vendors.url, "kim")["errorCode"] == 0
    assert [call["status"] for call in vendors.requests(path=OFFBOARD)] == [200, 503, 503]


def test_gives_up_after_three_attempts(vendors):
    with vendors.fault(route="offboard", path=OFFBOARD, action="unavailable"):
        with pytest.raises(requests.HTTPError):
            offboard_user(vendors.url, "kim")
    assert len(vendors.requests(path=OFFBOARD)) == 3


def test_each_test_starts_afresh(vendors):
    assert vendors.requests() == []


def test_where_the_stack_runs(vendor_stack):
    with open("stack-url", "w") as record:
        record.write(vendor_stack.url)
"""


@pytest.fixture
def user_suite(pytester):
    pytester.makepyfile(client=CLIENT, test_client=USER_TESTS)
    pytester.syspathinsert()
    return pytester


@pytest.mark.e2e
def test_a_user_suite_starts_its_own_stack_and_stops_it(user_suite, monkeypatch):
    monkeypatch.delenv("VENDOR_STACK_URL", raising=False)
    result = user_suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)

    url = (user_suite.path / "stack-url").read_text()
    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_gateway/healthz", timeout=2)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_user_suite_uses_a_running_stack(user_suite, vendor_stack, monkeypatch, how):
    arguments = ["-p", "no:cacheprovider"]
    if how == "option":
        monkeypatch.delenv("VENDOR_STACK_URL", raising=False)
        arguments.append(f"--vendor-stack-url={vendor_stack.url}")
    else:
        monkeypatch.setenv("VENDOR_STACK_URL", vendor_stack.url)

    user_suite.runpytest(*arguments).assert_outcomes(passed=5)

    assert (user_suite.path / "stack-url").read_text() == vendor_stack.url
    # The stack the suite used is still up: it was not the suite's to stop.
    assert requests.get(f"{vendor_stack.url}/_gateway/healthz", timeout=10).status_code == 200


def test_the_option_is_listed_in_pytests_help(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--vendor-stack-url=URL*"])


def test_an_unreachable_stack_fails_the_test_with_a_clear_error(pytester):
    pytester.makepyfile(
        textwrap.dedent(
            """
            def test_reset(vendors):
                pass
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--vendor-stack-url=http://127.0.0.1:9")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*VendorStackError: POST http://127.0.0.1:9/_gateway/reset*"])

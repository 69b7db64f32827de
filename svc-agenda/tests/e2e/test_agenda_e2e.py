"""svc-agenda through the real gateway on PostgreSQL: every error code, token expiry, the IP filter on the
real client address, the rate policy across processes and the concurrent double remove."""

import time
import uuid
from functools import partial

import pytest
from defusedxml import ElementTree as ET
from sqlalchemy import select
from sqlalchemy.orm import Session

from svc_agenda.models import ApiAccount, RecordPermission, User
from svc_agenda.services import new_account, new_user
from svc_agenda.wire import utcnow
from vendorkit.db import make_engine
from vendorkit.testing import ServerProcess
from vendorkit.testing.concurrency import at_once

from .conftest import api_request

API = "/AktionNEXT/API"
OK = "Processed with result: ExecOK"
BINDING = "Entry parameter missing or parameter bindigs failed"
UNSUPPORTED = (
    "The request entity has a media type which the server or resource does not support. "
    "Only application/json and application/xml are supported"
)
DB_FAILED = "Db operation failed, "
FORMATS = ["json", "xml"]
ACCEPT = {"json": "application/json", "xml": "application/xml"}

# Accounts this module sets up directly in the service's database (the demo data has none
# whose filter tells two loopback addresses apart, and none without View).
LOOPBACK2 = ("e2e-loopback2", "e2e-loopback2-key", ["View", "New", "Delete"], "127.0.0.2")
BLIND = ("e2e-blind", "e2e-blind-key", [], None)


@pytest.fixture(scope="module")
def agenda(stack, agenda_openapi):
    """The stack with svc-agenda running, plus this module's own accounts; answers held to its document."""
    engine = make_engine(stack.postgres.url("svc_agenda"))
    with Session(engine) as session, session.begin():
        for user_login, key, privileges, ip_filter in (LOOPBACK2, BLIND):
            if session.scalar(select(ApiAccount.id).where(ApiAccount.login_key == user_login)) is None:
                session.add(new_account(user_login, key, 1, privileges, ip_filter=ip_filter))
                session.add(new_user(1, user_login, f"API account {user_login}", now=utcnow()))
    engine.dispose()
    return stack


@pytest.fixture(scope="module")
def second_agenda(agenda):
    """Another svc-agenda (two workers) on the same database, issuing tokens that live one second."""
    process = ServerProcess(
        "svc_agenda:create_app()",
        env=agenda.service_env("agenda", AGENDA_TOKEN_TTL_SECONDS="1"),
        workers=2,
    ).start()
    yield process
    process.stop()


class Tokens:
    """Tokens per account, logged in again before they expire (each login costs an argon2 verification)."""

    def __init__(self, stack):
        self.stack = stack
        self.issued: dict[str, tuple[str, float]] = {}

    def __call__(self, user_login: str, api_key: str | None = None) -> str:
        token, at = self.issued.get(user_login, ("", 0.0))
        if time.monotonic() - at > 12:
            response = api_request(
                "POST",
                self.stack.url(f"{API}/login"),
                json_body={"UserLogin": user_login, "ApiKey": api_key or f"{user_login}-demo-key"},
            )
            assert response.status == 200, response.text
            token, at = response.json()["Token"], time.monotonic()
            self.issued[user_login] = (token, at)
        return token


@pytest.fixture(scope="module")
def tokens(agenda):
    return Tokens(agenda)


def call(stack, method, path, fmt="json", body=None, source=None, headers=None):
    """One request through the gateway; ``body`` is a dict sent in ``fmt`` (JSON or the XML twin)."""
    headers = {"Accept": ACCEPT[fmt], **(headers or {})}
    data = None
    if body is not None:
        if fmt == "json":
            import json

            data = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        else:
            data = "<Request>" + "".join(f"<{k}>{v}</{k}>" for k, v in body.items()) + "</Request>"
            headers.setdefault("Content-Type", "application/xml")
    return api_request(method, stack.url(API + path), headers=headers, body=data, source=source)


def parsed(response, fmt):
    """(Message, Code, ModelStateErr, Request) of an envelope in either format."""
    if fmt == "json":
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        body = response.json()
        assert list(body["Result"]) == ["Message", "Code", "ModelStateErr"]
        return (
            body["Result"]["Message"],
            body["Result"]["Code"],
            body["Result"]["ModelStateErr"],
            body["Request"],
        )
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(response.body)
    assert root.tag == "Response"
    state = root.find("Result/ModelStateErr")
    request = root.find("Request")
    return (
        root.findtext("Result/Message"),
        int(root.findtext("Result/Code")),
        [item.text for item in state] if state is not None else None,
        {child.tag: child.text for child in request} if request is not None else None,
    )


def expect(response, fmt, status, code, message, request=None):
    assert response.status == status, response.text
    got_message, got_code, model_state, echo = parsed(response, fmt)
    assert (got_message, got_code) == (message, code)
    assert echo == request
    if code == 1002:
        assert model_state
    else:
        assert model_state is None


def fresh_user(stack, tokens, fmt="json"):
    """A user this test owns (created through the API), so that demo users stay."""
    login_name = f"E2E.{uuid.uuid4().hex[:12]}"
    response = call(
        stack,
        "POST",
        f"/user/create?Token={tokens('api')}",
        fmt,
        {"LoginName": login_name, "UserName": "E2E"},
    )
    echo = {"LoginName": login_name, "UserName": "E2E"}
    if fmt == "json":
        echo |= {"ValidFrom": None, "ValidTo": None, "Lock": None, "PersonID": None}
    expect(response, fmt, 200, 0, OK, echo)
    return login_name


# --- the document ------------------------------------------------------------


def test_the_documents_request_and_its_xml_twin(agenda, tokens):
    def remove(content_type: str, body: str):
        """The document's remove request, its body written out by hand as the document does."""
        url = agenda.url(f"{API}/user/remove?Token={tokens('api')}")
        return api_request("POST", url, headers={"Content-Type": content_type}, body=body)

    login_name = fresh_user(agenda, tokens)
    response = remove("application/json", f'{{"LoginName":"{login_name}"}}')
    assert response.status == 200
    assert response.json() == {
        "Result": {"Message": OK, "Code": 0, "ModelStateErr": None},
        "Request": {"LoginName": login_name},
    }
    login_name = fresh_user(agenda, tokens, "xml")
    response = remove("application/xml", f"<Request> <LoginName>{login_name}</LoginName> </Request>")
    assert response.status == 200
    assert response.text == (
        "<?xml version='1.0' encoding='utf-8'?>\n<Response><Result><Message>Processed with result: ExecOK</Message>"
        f"<Code>0</Code></Result><Request><LoginName>{login_name}</LoginName></Request></Response>"
    )
    expect(
        call(agenda, "GET", f"/user/get?Token={tokens('api')}&LoginName={login_name}"),
        "json", 404, 1400, f"User LoginName [{login_name}] not found", {"LoginName": login_name},
    )  # fmt: skip


# --- every error code, in JSON and XML -------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_login_errors(agenda, fmt):
    response = call(agenda, "POST", "/login", fmt, {"UserLogin": "api", "ApiKey": "wrong"})
    expect(response, fmt, 401, 1003, "UserLogin or ApiKey are unknown", {"UserLogin": "api"})
    response = call(agenda, "POST", "/login", fmt, {"UserLogin": "revoked", "ApiKey": "revoked-demo-key"})
    expect(response, fmt, 401, 1004, "ApiKey is invalid", {"UserLogin": "revoked"})
    response = call(agenda, "POST", "/login", fmt, {"UserLogin": "api"})
    expect(response, fmt, 400, 1002, BINDING)
    response = call(agenda, "POST", "/login", fmt, headers={"Content-Type": "text/plain"})
    expect(response, fmt, 415, 415, UNSUPPORTED)


@pytest.mark.parametrize("fmt", FORMATS)
def test_token_errors(agenda, fmt):
    expect(call(agenda, "GET", "/user/getAll", fmt), fmt, 400, 1002, BINDING)
    expect(call(agenda, "GET", "/user/getAll?Token=not-a-guid", fmt), fmt, 400, 1002, BINDING)
    unknown = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    expect(
        call(agenda, "POST", f"/user/remove?Token={unknown}", fmt, {"LoginName": "John.Doo"}),
        fmt, 401, 1000, f"Token {unknown.lower()} not found",
    )  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_expires_after_the_configured_lifetime(agenda, second_agenda, fmt):
    login = api_request(
        "POST", second_agenda.url + f"{API}/login", json_body={"UserLogin": "api", "ApiKey": "api-demo-key"}
    ).json()
    assert login["ExpireInSec"] == 1
    token = login["Token"]
    time.sleep(1.1)
    # Tokens live in the database: the gateway's svc-agenda knows the other process's token (1001, not 1000).
    response = call(agenda, "GET", f"/user/getAll?Token={token}", fmt)
    expect(response, fmt, 401, 1001, f"Token {token} already expired")


@pytest.mark.parametrize("fmt", FORMATS)
def test_ip_filter_errors(agenda, tokens, fmt):
    response = call(agenda, "GET", f"/user/getAll?Token={tokens('fenced')}", fmt)
    expect(response, fmt, 401, 1006, "Ip filter violated for ip client address [127.0.0.1]")
    response = call(
        agenda, "POST", f"/user/remove?Token={tokens('brokenfilter')}", fmt, {"LoginName": "John.Doo"}
    )
    expect(response, fmt, 401, 1007, "Ip filter [10.0.0.0/33, localhost] parsing failed")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_ip_filter_is_judged_on_the_real_client_address_behind_the_gateway(agenda, tokens, fmt):
    user_login, api_key, _, _ = LOOPBACK2
    token = tokens(user_login, api_key)
    url = f"/user/get?Token={token}&LoginName=John.Doo"
    response = call(agenda, "GET", url, fmt, source="127.0.0.2")
    expect(response, fmt, 200, 0, "Successfully done", {"LoginName": "John.Doo"})
    response = call(agenda, "GET", url, fmt)
    expect(response, fmt, 401, 1006, "Ip filter violated for ip client address [127.0.0.1]")
    # A client cannot claim the allowed address: the gateway appends the peer it saw.
    response = call(agenda, "GET", url, fmt, headers={"X-Forwarded-For": "127.0.0.2"})
    expect(response, fmt, 401, 1006, "Ip filter violated for ip client address [127.0.0.1]")


def test_the_rate_policy_counts_across_processes(agenda, second_agenda, tokens):
    token = tokens("limited")
    targets = [agenda.url(API), second_agenda.url + API] * 3
    answers = [
        api_request("GET", f"{base}/user/get?Token={token}&LoginName=John.Doo").status for base in targets[:5]
    ]
    assert answers == [200] * 5
    for fmt, base in (("json", targets[0]), ("xml", targets[1]), ("json", targets[0])):
        response = api_request("GET", f"{base}/user/getAll?Token={token}", headers={"Accept": ACCEPT[fmt]})
        expect(response, fmt, 401, 1008, "Request rate policy violated for [limited]")


@pytest.mark.parametrize("fmt", FORMATS)
def test_privilege_errors(agenda, tokens, fmt):
    reader = tokens("reader")
    response = call(agenda, "POST", f"/user/remove?Token={reader}", fmt, {"LoginName": "John.Doo"})
    expect(
        response,
        fmt,
        403,
        1407,
        "Privilege Delete of agenda Users violated for [LoginName John.Doo]",
        {"LoginName": "John.Doo"},
    )
    response = call(
        agenda, "POST", f"/user/create?Token={reader}", fmt, {"LoginName": "X.Y", "UserName": "X"}
    )
    assert response.status == 403
    assert parsed(response, fmt)[:2] == ("Privilege New of agenda Users violated for [LoginName X.Y]", 1403)
    blind = tokens(BLIND[0], BLIND[1])
    response = call(agenda, "GET", f"/user/getAll?Token={blind}&PageNumber=1&PageSize=5", fmt)
    echo = {"PageNumber": 1, "PageSize": 5} if fmt == "json" else {"PageNumber": "1", "PageSize": "5"}
    expect(response, fmt, 403, 1401, "Privilege View of agenda Users violated for [LoginName all]", echo)
    response = call(agenda, "GET", f"/user/get?Token={tokens('api')}&LoginName=admin", fmt)
    expect(response, fmt, 403, 1402, "System user is not accessible by API", {"LoginName": "admin"})


@pytest.mark.parametrize("fmt", FORMATS)
def test_record_permission_view_denied_1412(agenda, tokens, fmt):
    login_name = fresh_user(agenda, tokens)
    engine = make_engine(agenda.postgres.url("svc_agenda"))
    with Session(engine) as session, session.begin():
        account_id = session.scalar(select(ApiAccount.id).where(ApiAccount.login_key == "api"))
        user_id = session.scalar(select(User.id).where(User.login_name == login_name))
        session.add(RecordPermission(account_id=account_id, user_id=user_id, can_view=False))
    engine.dispose()
    response = call(agenda, "GET", f"/user/get?Token={tokens('api')}&LoginName={login_name}", fmt)
    expect(
        response,
        fmt,
        403,
        1412,
        f"Record permission View of agenda User violated for [{login_name}]",
        {"LoginName": login_name},
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_database_codes(agenda, tokens, fmt):
    api = tokens("api")
    response = call(agenda, "POST", f"/user/remove?Token={api}", fmt, {"LoginName": "Protected.Boss"})
    expect(response, fmt, 403, 2, DB_FAILED + "record missing priviliges", {"LoginName": "Protected.Boss"})
    response = call(
        agenda, "POST", f"/user/create?Token={api}", fmt, {"LoginName": "JOHN.DOO", "UserName": "Dup"}
    )
    assert response.status == 403
    assert parsed(response, fmt)[:2] == (DB_FAILED + "Record duplicity", 3)
    response = call(agenda, "POST", f"/user/remove?Token={api}", fmt, {"LoginName": "reader"})
    expect(response, fmt, 403, 6, DB_FAILED + "database data consistence violation", {"LoginName": "reader"})
    response = call(
        agenda, "POST", f"/user/remove?Token={tokens('nolicence')}", fmt, {"LoginName": "Foreign.User"}
    )
    expect(response, fmt, 403, 8, DB_FAILED + "licence violation", {"LoginName": "Foreign.User"})


@pytest.mark.parametrize("fmt", FORMATS)
def test_not_found_media_type_and_routing(agenda, tokens, fmt):
    api = tokens("api")
    response = call(agenda, "POST", f"/user/remove?Token={api}", fmt, {"LoginName": "admin"})
    message = "User for [LoginName admin, ID_Firma 1] not found or it could be a system user"
    expect(response, fmt, 404, 1400, message, {"LoginName": "admin"})
    response = call(agenda, "POST", f"/user/remove?Token={api}", fmt, headers={"Content-Type": "text/plain"})
    expect(response, fmt, 415, 415, UNSUPPORTED)
    hostile = (
        '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Request><LoginName>&x;</LoginName></Request>'
    )
    response = api_request(
        "POST",
        agenda.url(f"{API}/user/remove?Token={api}"),
        headers={"Content-Type": "application/xml", "Accept": ACCEPT[fmt]},
        body=hostile,
    )
    expect(response, fmt, 400, 1002, BINDING)
    expect(
        call(agenda, "GET", "/user/nothing", fmt),
        fmt,
        404,
        404,
        "No HTTP resource was found that matches the request URI",
    )
    response = call(agenda, "GET", "/login", fmt)
    expect(response, fmt, 405, 405, "The requested resource does not support http method 'GET'.")
    assert "POST" in response.headers["Allow"]


def test_oversized_bodies_are_refused_in_the_envelope(agenda, tokens):
    """Over the service's 64 KiB: 400/1002 from the service; over the gateway's 10 MiB: 413 from the gateway."""
    path = f"{API}/user/remove?Token={tokens('api')}"
    for size, status in ((100 * 1024, 400), (11 * 1024 * 1024, 413)):
        body = '{"LoginName": "' + "x" * size + '"}'
        response = api_request(
            "POST", agenda.url(path), headers={"Content-Type": "application/json"}, body=body, timeout=60
        )
        assert response.status == status, response.text
        assert response.json()["Result"]["Code"] == 1002
        assert response.json()["Request"] is None


def test_get_all_orders_by_code_point_on_postgresql(agenda, tokens):
    # A locale collation would ignore the dot and put "...b" first; code point order puts "." (0x2E) first.
    stem = f"Ord{uuid.uuid4().hex[:8]}"
    api = tokens("api")
    for login_name in (f"{stem}B", f"{stem}.z"):
        response = call(
            agenda, "POST", f"/user/create?Token={api}", "json", {"LoginName": login_name, "UserName": "O"}
        )
        assert response.status == 200
    users = call(agenda, "GET", f"/user/getAll?Token={api}").json()["Users"]
    ours = [user["LoginName"] for user in users if user["LoginName"].startswith(stem)]
    assert ours == [f"{stem}.z", f"{stem}B"]
    demo = [
        user["LoginName"] for user in users if user["LoginName"] in ("Jane.Roe", "Jiří.Novák", "John.Doo")
    ]
    assert demo == ["Jane.Roe", "Jiří.Novák", "John.Doo"]


# --- concurrency -------------------------------------------------------------


def race(bases, path, body):
    """POST ``body`` to ``path`` on every base URL at once; the (status, Code) answers."""

    def send(base):
        response = api_request("POST", base + path, json_body=body)
        return response.status, response.json()["Result"]["Code"]

    return at_once(*(partial(send, base) for base in bases))


def test_concurrent_double_remove_exactly_one_succeeds(agenda, second_agenda, tokens):
    # Half through the gateway, half straight to a second process with two workers.
    bases = [agenda.url(API), second_agenda.url + API] * 4
    for _ in range(3):
        login_name = fresh_user(agenda, tokens)
        answers = race(bases, f"/user/remove?Token={tokens('api')}", {"LoginName": login_name})
        assert len(answers) == len(bases)
        assert answers.count((200, 0)) == 1, answers
        assert set(answers) - {(200, 0)} <= {(404, 1400), (403, 5)}, answers


def test_concurrent_creates_of_one_name_exactly_one_succeeds(agenda, second_agenda, tokens):
    bases = [agenda.url(API), second_agenda.url + API] * 3
    login_name = f"E2E.{uuid.uuid4().hex[:12]}"
    answers = race(
        bases, f"/user/create?Token={tokens('api')}", {"LoginName": login_name, "UserName": "Racer"}
    )
    assert sorted(answers) == [(200, 0)] + [(403, 3)] * (len(bases) - 1)

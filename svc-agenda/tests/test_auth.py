"""Token, IP filter and rate policy checks of the token endpoints, their order, and what each view declares."""

import sqlite3
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from svc_agenda import auth
from svc_agenda.errors import AgendaError
from svc_agenda.models import ApiAccount, AuditEntry, RateHit
from svc_agenda.wire import utcnow
from vendorkit import db, endpoints
from vendorkit.endpoints import Endpoint

API = "/AktionNEXT/API"
BINDING = "Entry parameter missing or parameter bindigs failed"
XML_HEADERS = {"Accept": "application/xml"}


def result(code, message, request=None, model_state=None):
    return {"Result": {"Message": message, "Code": code, "ModelStateErr": model_state}, "Request": request}


def xml_error(code, message, model_state=None):
    errors = "".join(f"<Error>{item}</Error>" for item in model_state or [])
    state = f"<ModelStateErr>{errors}</ModelStateErr>" if model_state else ""
    return (
        f"<?xml version='1.0' encoding='utf-8'?>\n"
        f"<Response><Result><Message>{message}</Message><Code>{code}</Code>{state}</Result></Response>"
    )


ENDPOINTS = [
    ("POST", "/user/remove"),
    ("POST", "/user/create"),
    ("GET", "/user/getAll"),
    ("GET", "/user/get"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("query", "problem"),
    [("", "Token: required"), ("?Token=", "Token: required"), ("?Token=abc", "Token: not a GUID")],
)
def test_a_missing_or_malformed_token_is_1002(shared_app, method, path, query, problem):
    client = shared_app.test_client()
    response = client.open(API + path + query, method=method, json={"LoginName": "John.Doo"})
    assert response.status_code == 400
    assert response.json == result(1002, BINDING, None, [problem])
    response = client.open(API + path + query, method=method, headers=XML_HEADERS)
    assert response.status_code == 400
    assert response.data.decode() == xml_error(1002, BINDING, [problem])


def test_guids_without_hyphens_or_in_braces_are_not_tokens(client, api_token):
    for text in (api_token.replace("-", ""), "{" + api_token + "}", api_token + "0", " " + api_token):
        assert client.get(f"{API}/user/getAll", query_string={"Token": text}).json["Result"]["Code"] == 1002


def test_a_token_in_a_header_cookie_or_body_is_ignored(client, api_token):
    client.set_cookie("Token", api_token)
    response = client.post(
        f"{API}/user/remove", json={"LoginName": "John.Doo", "Token": api_token}, headers={"Token": api_token}
    )
    assert response.json["Result"]["ModelStateErr"] == ["Token: required"]


def test_an_unknown_token_is_1000_named_in_lowercase(client):
    token = "0F8FAD5B-D9CB-469F-A165-70867728950E"
    for method, path in ENDPOINTS:
        response = client.open(f"{API}{path}?Token={token}", method=method)
        assert response.status_code == 401
        assert response.json == result(1000, "Token 0f8fad5b-d9cb-469f-a165-70867728950e not found")
    response = client.get(f"{API}/user/getAll?Token={token}", headers=XML_HEADERS)
    assert response.data.decode() == xml_error(1000, "Token 0f8fad5b-d9cb-469f-a165-70867728950e not found")


def test_tokens_match_case_insensitively_and_the_parameter_name_too(client, api_token):
    for name in ("Token", "token", "TOKEN"):
        url = f"{API}/user/get?{name}={api_token.upper()}&loginname=John.Doo"
        assert client.get(url).status_code == 200


def test_an_expired_token_is_1001(client, token_for):
    token = token_for("api", lifetime=0)
    response = client.get(f"{API}/user/getAll?Token={token}")
    assert response.status_code == 401
    assert response.json == result(1001, f"Token {token} already expired")
    response = client.get(f"{API}/user/getAll?Token={token}", headers=XML_HEADERS)
    assert response.data.decode() == xml_error(1001, f"Token {token} already expired")


# --- IP filter ---------------------------------------------------------------


def test_the_ip_filter_refuses_other_addresses_with_1006(client, token_for):
    token = token_for("fenced")
    for method, path in ENDPOINTS:
        response = client.open(f"{API}{path}?Token={token}", method=method, json={"LoginName": "John.Doo"})
        assert response.status_code == 401
        assert response.json == result(1006, "Ip filter violated for ip client address [127.0.0.1]")
    response = client.get(f"{API}/user/getAll?Token={token}", headers=XML_HEADERS)
    assert response.data.decode() == xml_error(1006, "Ip filter violated for ip client address [127.0.0.1]")


def test_behind_a_trusted_proxy_the_rightmost_forwarded_address_is_the_client(client, token_for):
    token = token_for("fenced")
    url = f"{API}/user/get?Token={token}&LoginName=John.Doo"
    assert client.get(url, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 200
    assert client.get(url, headers={"X-Forwarded-For": "::ffff:203.0.113.9"}).status_code == 200
    response = client.get(url, headers={"X-Forwarded-For": "203.0.113.7, 10.1.2.3"})
    assert response.json == result(1006, "Ip filter violated for ip client address [10.1.2.3]")
    # X-Real-IP and Forwarded are ignored.
    response = client.get(url, headers={"X-Real-IP": "203.0.113.7", "Forwarded": "for=203.0.113.7"})
    assert response.json["Result"]["Code"] == 1006


def test_an_untrusted_peer_cannot_choose_its_address(client, token_for):
    token = token_for("fenced")
    response = client.get(
        f"{API}/user/get?Token={token}&LoginName=John.Doo",
        headers={"X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "198.51.100.20"},
    )
    assert response.json == result(1006, "Ip filter violated for ip client address [198.51.100.20]")


def test_a_client_inside_the_filter_passes_directly(client, token_for):
    token = token_for("fenced")
    response = client.get(
        f"{API}/user/get?Token={token}&LoginName=John.Doo", environ_base={"REMOTE_ADDR": "203.0.113.200"}
    )
    assert response.status_code == 200


def test_a_stored_filter_that_does_not_parse_is_1007_with_the_string_verbatim(client, token_for):
    token = token_for("brokenfilter")
    message = "Ip filter [10.0.0.0/33, localhost] parsing failed"
    for method, path in ENDPOINTS:
        response = client.open(f"{API}{path}?Token={token}", method=method)
        assert response.status_code == 401
        assert response.json == result(1007, message)
    response = client.post(f"{API}/user/remove?Token={token}", headers=XML_HEADERS)
    assert response.data.decode() == xml_error(1007, message)


@pytest.mark.parametrize(
    ("ip_filter", "client_address", "allowed"),
    [
        ("10.0.0.0/8", "10.20.30.40", True),
        (" 192.0.2.1 , 2001:db8::/32 ", "2001:db8::5", True),
        ("192.0.2.1/24", "192.0.2.77", True),  # host bits in a range are allowed
        ("2001:db8::/32", "192.0.2.1", False),
        ("192.0.2.0/24", "::ffff:192.0.2.5", True),
        ("", "198.51.100.1", True),
    ],
)
def test_ip_filter_items(ip_filter, client_address, allowed):
    try:
        auth.check_ip_filter(ip_filter, client_address)
        passed = True
    except AgendaError as error:
        assert error.code == 1006
        passed = False
    assert passed is allowed


@pytest.mark.parametrize("ip_filter", ["10.0.0.0/33", "192.0.2.1,", "localhost", "1.2.3.4/8/9"])
def test_ip_filter_parse_failures(ip_filter):
    with pytest.raises(AgendaError) as raised:
        auth.check_ip_filter(ip_filter, "192.0.2.1")
    assert raised.value.code == 1007
    assert raised.value.message == f"Ip filter [{ip_filter}] parsing failed"


# --- rate policy -------------------------------------------------------------


def test_the_rate_policy_refuses_the_sixth_request_in_ten_seconds_with_1008(app, client, token_for):
    first, second = token_for("limited"), token_for("limited")
    url = f"{API}/user/get?LoginName=John.Doo&Token="
    # Counted across all of the account's tokens.
    for token in (first, second, first, second, first):
        assert client.get(url + token).status_code == 200
    for _ in range(3):
        response = client.get(url + second)
        assert response.status_code == 401
        assert response.json == result(1008, "Request rate policy violated for [limited]")
    response = client.get(url + first, headers=XML_HEADERS)
    assert response.data.decode() == xml_error(1008, "Request rate policy violated for [limited]")
    with app.app_context():
        # Refused requests are not counted.
        assert db.session().scalar(select(func.count()).select_from(RateHit)) == 5


def test_the_rate_window_rolls(app):
    with app.app_context():
        session = db.session()
        account = session.scalars(select(ApiAccount).where(ApiAccount.user_login == "limited")).one()
        start = utcnow()
        for second in range(5):
            auth.count_against_rate_policy(session, account, now=start + timedelta(seconds=second))
        with pytest.raises(AgendaError):
            auth.count_against_rate_policy(session, account, now=start + timedelta(seconds=9.9))
        # At 10.5 s the first hit has left the window: one more fits, then none.
        auth.count_against_rate_policy(session, account, now=start + timedelta(seconds=10.5))
        with pytest.raises(AgendaError):
            auth.count_against_rate_policy(session, account, now=start + timedelta(seconds=10.6))


# --- order of checks ---------------------------------------------------------


def test_token_checks_come_before_everything_else(client):
    response = client.post(f"{API}/user/remove?Token=nope", data="x", content_type="text/plain")
    assert response.json["Result"]["Code"] == 1002


def test_ip_filter_comes_before_media_type_and_binding(client, token_for):
    token = token_for("fenced")
    response = client.post(f"{API}/user/remove?Token={token}", data="x", content_type="text/plain")
    assert response.json["Result"]["Code"] == 1006
    token = token_for("brokenfilter")
    response = client.post(f"{API}/user/remove?Token={token}", json={"LoginName": ""})
    assert response.json["Result"]["Code"] == 1007


def test_rate_policy_comes_before_media_type(client, token_for):
    token = token_for("limited")
    for _ in range(5):
        assert (
            client.post(f"{API}/user/remove?Token={token}", data="x", content_type="text/plain").status_code
            == 415
        )
    response = client.post(f"{API}/user/remove?Token={token}", data="x", content_type="text/plain")
    assert response.json["Result"]["Code"] == 1008


def test_privilege_comes_before_licence_and_record_lookup(client, token_for):
    token = token_for("reader")
    response = client.post(f"{API}/user/remove?Token={token}", json={"LoginName": "No.Such.User"})
    assert response.status_code == 403
    assert response.json["Result"]["Code"] == 1407


def test_unknown_paths_and_methods_come_before_the_token(client):
    assert client.post(f"{API}/user/delete").json["Result"]["Code"] == 404
    assert client.delete(f"{API}/user/remove").json["Result"]["Code"] == 405


# --- declarations --------------------------------------------------------------


def test_every_view_declares_its_caller_and_bodies(shared_app):
    """Login is open to anyone; the other views need an account's token; only the POSTs read bodies."""
    declared = {}
    for rule in shared_app.url_map.iter_rules():
        if not rule.rule.startswith(API + "/"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            endpoint = endpoints.declared(shared_app.view_functions[rule.endpoint], method)
            declared[(method, rule.rule.removeprefix(API))] = endpoint
    bodies = ("application/json", "text/json", "application/xml", "text/xml")
    assert declared == {
        ("POST", "/login"): Endpoint(auth.PUBLIC, bodies),
        ("POST", "/user/remove"): Endpoint(auth.account(audited_as="remove"), bodies),
        ("POST", "/user/create"): Endpoint(auth.account(audited_as="create"), bodies),
        ("GET", "/user/getAll"): Endpoint(auth.account()),
        ("GET", "/user/get"): Endpoint(auth.account()),
    }


def test_a_get_reads_while_another_connection_holds_the_write_lock(app, client, api_token):
    """A token endpoint's GET takes no write lock: it answers at once beside a writer (SQLite, WAL)."""
    writer = sqlite3.connect(make_url(app.config["DATABASE_URL"]).database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        assert client.get(f"{API}/user/get?Token={api_token}&LoginName=John.Doo").status_code == 200
        assert client.get(f"{API}/user/getAll?Token={api_token}").status_code == 200
        assert time.monotonic() - started < 5
    finally:
        writer.rollback()
        writer.close()


def test_refusals_before_authentication_completes_are_not_audited(app, client, token_for):
    for user_login in ("fenced", "brokenfilter"):
        client.post(f"{API}/user/remove?Token={token_for(user_login)}", json={"LoginName": "John.Doo"})
    client.post(f"{API}/user/remove?Token={uuid.uuid4()}", json={"LoginName": "John.Doo"})
    limited = token_for("limited")
    for _ in range(6):  # the sixth is 1008
        client.post(f"{API}/user/create?Token={limited}", json={"LoginName": "X", "UserName": "X"})
    with app.app_context():
        codes = db.session().scalars(select(AuditEntry.result_code).order_by(AuditEntry.id)).all()
    assert codes == [1403] * 5

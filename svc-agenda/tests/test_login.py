"""POST login: tokens for UserLogin + ApiKey, 1003/1004, binding, and the token's lifetime."""

import re
import time
import uuid
from datetime import timedelta

from defusedxml import ElementTree as ET
from sqlalchemy import select

from svc_agenda import wire
from svc_agenda.models import ApiAccount, Token
from vendorkit import db

LOGIN = "/AktionNEXT/API/login"
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BINDING = "Entry parameter missing or parameter bindigs failed"


def result(code, message, request=None, model_state=None):
    return {"Result": {"Message": message, "Code": code, "ModelStateErr": model_state}, "Request": request}


def test_login_answers_a_lowercase_guid_token_living_20_seconds(client):
    before = time.time() * 1000
    response = client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "api-demo-key"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json
    assert list(body) == ["Token", "ExpireInSec", "ExpireDate"]
    assert GUID.fullmatch(body["Token"])
    assert body["ExpireInSec"] == 20
    expires = int(re.fullmatch(r"/Date\((\d+)\)/", body["ExpireDate"]).group(1))
    assert before + 20_000 - 1000 <= expires <= time.time() * 1000 + 20_000 + 1000


def test_login_in_xml_answers_in_xml(client):
    response = client.post(
        LOGIN,
        data="<Request><UserLogin>api</UserLogin><ApiKey>api-demo-key</ApiKey></Request>",
        content_type="application/xml",
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    assert [child.tag for child in root] == ["Token", "ExpireInSec", "ExpireDate"]
    assert GUID.fullmatch(root.findtext("Token"))
    assert root.findtext("ExpireInSec") == "20"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", root.findtext("ExpireDate"))


def test_property_names_match_case_insensitively_and_result_is_ignored(client):
    response = client.post(LOGIN, json={"Result": None, "userlogin": "API", "APIKEY": "api-demo-key"})
    assert response.status_code == 200


def test_every_login_issues_a_new_token_and_earlier_ones_stay_valid(client):
    first = client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "api-demo-key"}).json["Token"]
    second = client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "api-demo-key"}).json["Token"]
    assert first != second
    for token in (first, second, first):
        assert client.get(f"/AktionNEXT/API/user/get?Token={token}&LoginName=John.Doo").status_code == 200


def test_unknown_login_and_wrong_key_get_the_same_1003(client):
    for body in (
        {"UserLogin": "nobody", "ApiKey": "api-demo-key"},
        {"UserLogin": "api", "ApiKey": "wrong-key"},
        {"UserLogin": "revoked", "ApiKey": "wrong-key"},
    ):
        response = client.post(LOGIN, json=body)
        assert response.status_code == 401
        assert response.json == result(
            1003, "UserLogin or ApiKey are unknown", {"UserLogin": body["UserLogin"]}
        )


def test_revoked_key_gets_1004_in_json_and_xml(client):
    response = client.post(LOGIN, json={"UserLogin": "revoked", "ApiKey": "revoked-demo-key"})
    assert response.status_code == 401
    assert response.json == result(1004, "ApiKey is invalid", {"UserLogin": "revoked"})
    response = client.post(
        LOGIN,
        data="<Request><UserLogin>revoked</UserLogin><ApiKey>revoked-demo-key</ApiKey></Request>",
        content_type="text/xml",
    )
    assert response.status_code == 401
    assert response.data.decode().endswith(
        "<Response><Result><Message>ApiKey is invalid</Message><Code>1004</Code></Result>"
        "<Request><UserLogin>revoked</UserLogin></Request></Response>"
    )


def test_missing_blank_or_too_long_fields_get_1002_without_echo(client):
    cases = [
        ({}, ["UserLogin: required", "ApiKey: required"]),
        ({"UserLogin": "api"}, ["ApiKey: required"]),
        ({"UserLogin": " ", "ApiKey": "k"}, ["UserLogin: must not be empty or blank"]),
        ({"UserLogin": "a" * 101, "ApiKey": "k"}, ["UserLogin: longer than 100 characters"]),
        ({"UserLogin": "api", "ApiKey": "k" * 201}, ["ApiKey: longer than 200 characters"]),
        ({"UserLogin": 5, "ApiKey": None}, ["UserLogin: must be a string", "ApiKey: required"]),
    ]
    for body, problems in cases:
        response = client.post(LOGIN, json=body)
        assert response.status_code == 400, body
        assert response.json == result(1002, BINDING, None, problems)


def test_login_without_body_is_1002_and_other_media_types_415(client):
    response = client.post(LOGIN)
    assert response.status_code == 400
    assert response.json["Result"]["Code"] == 1002
    response = client.post(LOGIN, data="UserLogin=api&ApiKey=api-demo-key", content_type="text/plain")
    assert response.status_code == 415
    assert response.json == result(
        415,
        "The request entity has a media type which the server or resource does not support. "
        "Only application/json and application/xml are supported",
    )


def test_415_comes_before_1002_and_1002_before_1003(client):
    assert client.post(LOGIN, data="{", content_type="application/x-www-form-urlencoded").status_code == 415
    assert client.post(LOGIN, json={"UserLogin": "nobody"}).status_code == 400


def test_the_api_key_is_stored_only_as_an_argon2id_hash(app):
    with app.app_context():
        accounts = db.session().execute(select(ApiAccount.user_login, ApiAccount.api_key_hash)).all()
    assert len(accounts) == 7
    for user_login, key_hash in accounts:
        assert key_hash.startswith("$argon2id$")
        assert f"{user_login}-demo-key" not in key_hash


def test_tokens_are_stored_as_digests(app, client):
    token = client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "api-demo-key"}).json["Token"]
    with app.app_context():
        stored = db.session().scalars(select(Token.token_hash)).all()
    assert token not in stored
    assert len(stored) == 1 and len(stored[0]) == 64


def test_a_token_expires_after_its_configured_lifetime(make_app, monkeypatch):
    client = make_app(AGENDA_TOKEN_TTL_SECONDS=5).test_client()
    login = client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "api-demo-key"}).json
    assert login["ExpireInSec"] == 5
    url = f"/AktionNEXT/API/user/get?Token={login['Token']}&LoginName=John.Doo"
    assert client.get(url).status_code == 200
    expires = wire.EPOCH + timedelta(milliseconds=int(login["ExpireDate"][6:-2]))
    # The clock moves on (no sleeping): just before the announced expiry the token still works, after it not.
    monkeypatch.setattr(wire, "utcnow", lambda: expires - timedelta(milliseconds=100))
    assert client.get(url).status_code == 200
    monkeypatch.setattr(wire, "utcnow", lambda: expires + timedelta(milliseconds=2))
    response = client.get(url)
    assert response.status_code == 401
    assert response.json == result(1001, f"Token {login['Token']} already expired")


def test_a_token_expires_in_real_time_too(make_app):
    client = make_app(AGENDA_TOKEN_TTL_SECONDS=1).test_client()
    token = client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "api-demo-key"}).json["Token"]
    time.sleep(1.05)
    response = client.get(f"/AktionNEXT/API/user/getAll?Token={token}")
    assert response.json == result(1001, f"Token {token} already expired")


def test_expired_tokens_are_remembered_then_forgotten_at_a_later_login(make_app):
    app = make_app(AGENDA_TOKEN_TTL_SECONDS=1, AGENDA_EXPIRED_TOKEN_MEMORY_SECONDS=1)
    client = app.test_client()
    old = client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "api-demo-key"}).json["Token"]
    time.sleep(2.1)
    url = f"/AktionNEXT/API/user/get?Token={old}&LoginName=John.Doo"
    assert client.get(url).json["Result"]["Code"] == 1001
    client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "api-demo-key"})
    assert client.get(url).json == result(1000, f"Token {old} not found")
    assert uuid.UUID(old)


def test_a_failing_purge_of_expired_tokens_never_fails_a_login(failing, client):
    with failing("DELETE FROM tokens"):
        response = client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "api-demo-key"})
    assert response.status_code == 200
    token = response.json["Token"]
    assert client.get(f"/AktionNEXT/API/user/get?Token={token}&LoginName=John.Doo").status_code == 200


def test_a_refused_login_stores_no_token(app, client):
    client.post(LOGIN, json={"UserLogin": "api", "ApiKey": "wrong-key"})
    client.post(LOGIN, json={"UserLogin": "revoked", "ApiKey": "revoked-demo-key"})
    with app.app_context():
        assert db.session().scalars(select(Token.token_hash)).all() == []

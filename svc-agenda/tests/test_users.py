"""user/create, user/getAll and user/get: shapes, privileges, licence, paging, record permissions."""

from functools import partial

import pytest
from defusedxml import ElementTree as ET
from sqlalchemy import select

from svc_agenda.auth import issue_token
from svc_agenda.models import ApiAccount, RecordPermission, User
from svc_agenda.services import new_account
from svc_agenda.wire import utcnow
from vendorkit import db
from vendorkit.testing.concurrency import at_once

API = "/AktionNEXT/API"
OK = "Processed with result: ExecOK"
DONE = "Successfully done"
BINDING = "Entry parameter missing or parameter bindigs failed"
COMPANY_1 = [
    "api",
    "brokenfilter",
    "fenced",
    "Jane.Roe",
    "Jiří.Novák",
    "John.Doo",
    "limited",
    "Protected.Boss",
    "reader",
    "revoked",
]


def result(code, message, request=None, model_state=None):
    return {"Result": {"Message": message, "Code": code, "ModelStateErr": model_state}, "Request": request}


def create(client, token, **fields):
    return client.post(f"{API}/user/create?Token={token}", json=fields)


def names(response):
    return [user["LoginName"] for user in response.json["Users"]]


def add_account(app, user_login, privileges, id_firma=1):
    """A token of a new account with ``privileges`` (set up directly in the database)."""
    with app.app_context():
        session = db.session()
        account = new_account(user_login, "irrelevant", id_firma, privileges)
        session.add(account)
        session.flush()
        token = issue_token(session, account, now=utcnow(), lifetime=3600).token
        session.commit()
        return token


def deny_view(app, user_login, login_name):
    with app.app_context():
        session = db.session()
        account_id = session.scalar(select(ApiAccount.id).where(ApiAccount.user_login == user_login))
        user_id = session.scalar(select(User.id).where(User.login_name == login_name))
        session.add(RecordPermission(account_id=account_id, user_id=user_id, can_view=False))
        session.commit()


# --- create ------------------------------------------------------------------


def test_create_then_get_shows_the_new_user(client, api_token):
    # The product writes the date's slashes escaped, as JSON allows.
    body = (
        '{"LoginName":"Petr.Maly","UserName":"Petr Malý","ValidFrom":"\\/Date(1770200077469)\\/",'
        '"ValidTo":"2027-01-01T00:00:00","Lock":1,"PersonID":"P-1"}'
    )
    response = client.post(f"{API}/user/create?Token={api_token}", data=body, content_type="application/json")
    assert response.status_code == 200
    assert response.json == result(
        0,
        OK,
        {
            "LoginName": "Petr.Maly",
            "UserName": "Petr Malý",
            "ValidFrom": "/Date(1770200077469)/",
            "ValidTo": "/Date(1798761600000)/",
            "Lock": 1,
            "PersonID": "P-1",
        },
    )
    user = client.get(f"{API}/user/get?Token={api_token}&LoginName=petr.maly").json
    assert list(user) == [
        "Result", "Request", "LoginName", "UserName", "Roles", "TimeLastChange",
        "VerificationNT", "ValidFrom", "ValidTo", "Lock", "PersonID",
    ]  # fmt: skip
    assert user["Result"] == {"Message": DONE, "Code": 0, "ModelStateErr": None}
    assert user["Request"] == {"LoginName": "petr.maly"}
    assert (user["LoginName"], user["Roles"], user["VerificationNT"], user["Lock"]) == ("Petr.Maly", [], 1, 1)
    assert (user["ValidFrom"], user["ValidTo"]) == ("/Date(1770200077469)/", "/Date(1798761600000)/")
    assert user["TimeLastChange"].startswith("/Date(")


def test_create_in_xml_with_iso_dates(client, api_token):
    body = (
        '<Request xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><LoginName>Eva.Nova</LoginName>'
        "<UserName>Eva Nová</UserName><ValidFrom>2026-02-04T10:14:37.469Z</ValidFrom>"
        '<ValidTo xsi:nil="true"/><Lock>0</Lock></Request>'
    )
    response = client.post(f"{API}/user/create?Token={api_token}", data=body, content_type="application/xml")
    assert response.status_code == 200
    assert response.data.decode() == (
        "<?xml version='1.0' encoding='utf-8'?>\n<Response><Result><Message>Processed with result: ExecOK"
        "</Message><Code>0</Code></Result><Request><LoginName>Eva.Nova</LoginName><UserName>Eva Nová</UserName>"
        "<ValidFrom>2026-02-04T10:14:37.469Z</ValidFrom><Lock>0</Lock></Request></Response>"
    )
    user = client.get(f"{API}/user/get?Token={api_token}&LoginName=Eva.Nova").json
    assert user["ValidFrom"] == "/Date(1770200077469)/"
    assert user["ValidTo"] is None


def test_a_name_in_use_by_any_active_user_is_3(client, api_token):
    for login_name in ("john.doo", "FOREIGN.USER", "admin"):
        response = create(client, api_token, LoginName=login_name, UserName="X")
        assert response.status_code == 403
        assert response.json["Result"] == {
            "Message": "Db operation failed, Record duplicity",
            "Code": 3,
            "ModelStateErr": None,
        }
        assert response.json["Request"]["LoginName"] == login_name


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"UserName": "X"}, "LoginName: required"),
        ({"LoginName": "a", "UserName": " "}, "UserName: must not be empty or blank"),
        ({"LoginName": "a", "UserName": "X", "Lock": 2}, "Lock: must be 0 or 1"),
        ({"LoginName": "a", "UserName": "X", "Lock": True}, "Lock: must be 0 or 1"),
        (
            {"LoginName": "a", "UserName": "X", "ValidFrom": "tomorrow"},
            "ValidFrom: not a date (/Date(ms)/ or ISO 8601)",
        ),
        ({"LoginName": "a", "UserName": "X", "ValidFrom": 5}, "ValidFrom: must be a date"),
        (
            {"LoginName": "a", "UserName": "X", "ValidFrom": "2026-02-02", "ValidTo": "2026-02-01"},
            "ValidTo: before ValidFrom",
        ),
        ({"LoginName": "a", "UserName": "X", "PersonID": "p" * 101}, "PersonID: longer than 100 characters"),
        ({"LoginName": "a", "UserName": "X\x00"}, "UserName: contains control characters"),
        (
            {"LoginName": "a", "UserName": "X", "ValidFrom": "/Date(99999999999999999)/"},
            "ValidFrom: not a date (/Date(ms)/ or ISO 8601)",
        ),
    ],
)
def test_create_binding_failures_are_1002(client, api_token, fields, problem):
    response = create(client, api_token, **fields)
    assert response.status_code == 400
    assert response.json == result(1002, BINDING, None, [problem])


def test_create_without_new_privilege_is_1403_and_without_licence_8(client, token_for):
    response = create(client, token_for("reader"), LoginName="New.Guy", UserName="New Guy")
    assert response.status_code == 403
    assert (
        response.json["Result"]["Message"] == "Privilege New of agenda Users violated for [LoginName New.Guy]"
    )
    assert response.json["Result"]["Code"] == 1403
    assert response.json["Request"]["LoginName"] == "New.Guy"
    response = client.post(
        f"{API}/user/create?Token={token_for('reader')}",
        data="<Request><LoginName>New.Guy</LoginName><UserName>N</UserName></Request>",
        content_type="application/xml",
    )
    root = ET.fromstring(response.data)
    assert (root.findtext("Result/Code"), root.findtext("Request/LoginName")) == ("1403", "New.Guy")
    response = create(client, token_for("nolicence"), LoginName="New.Guy", UserName="New Guy")
    assert response.status_code == 403
    assert response.json["Result"]["Code"] == 8


def test_concurrent_creates_of_one_name_exactly_one_succeeds(app, api_token):
    def create_racer(index):
        response = create(app.test_client(), api_token, LoginName="Race.Winner", UserName=f"Racer {index}")
        return response.status_code, response.json["Result"]["Code"]

    answers = at_once(*(partial(create_racer, index) for index in range(5)))
    assert sorted(answers) == [(200, 0)] + [(403, 3)] * 4


# --- getAll ------------------------------------------------------------------


def test_get_all_lists_active_non_system_users_by_lowercased_name(client, api_token):
    response = client.get(f"{API}/user/getAll?Token={api_token}")
    assert response.status_code == 200
    assert list(response.json) == ["Result", "Request", "Users"]
    assert response.json["Result"] == {"Message": DONE, "Code": 0, "ModelStateErr": None}
    assert response.json["Request"] == {"PageNumber": None, "PageSize": None}
    assert names(response) == COMPANY_1
    user = response.json["Users"][names(response).index("John.Doo")]
    assert list(user) == [
        "LoginName", "UserName", "Roles", "TimeLastChange", "VerificationNT", "ValidFrom", "ValidTo", "Lock", "PersonID",
    ]  # fmt: skip
    assert user["UserName"] == "John Doo"


def test_get_all_pages(client, api_token):
    url = f"{API}/user/getAll?Token={api_token}"
    assert names(client.get(url + "&PageNumber=2&PageSize=3")) == COMPANY_1[3:6]
    assert names(client.get(url + "&pagenumber=1")) == COMPANY_1  # PageSize 50 by default
    assert names(client.get(url + "&PageSize=2")) == COMPANY_1  # without PageNumber: everything
    assert names(client.get(url + "&PageNumber=5&PageSize=3")) == []
    assert names(client.get(url + "&PageNumber=99999999999999999999999&PageSize=1000")) == []
    response = client.get(url + "&PageNumber=2&PageSize=3")
    assert response.json["Request"] == {"PageNumber": 2, "PageSize": 3}


def test_in_a_query_string_the_first_value_of_a_name_counts_whatever_its_case(client, api_token):
    url = f"{API}/user/getAll?Token={api_token}&pagenumber=2&PageNumber=1&PAGESIZE=3&PageSize=x"
    response = client.get(url)
    assert response.json["Request"] == {"PageNumber": 2, "PageSize": 3}
    assert names(response) == COMPANY_1[3:6]
    response = client.get(f"{API}/user/get?Token={api_token}&loginname=John.Doo&LoginName=")
    assert response.json["Request"] == {"LoginName": "John.Doo"}


@pytest.mark.parametrize(
    ("query", "problems"),
    [
        ("PageNumber=0", ["PageNumber: must be at least 1"]),
        ("PageNumber=1&PageSize=1001", ["PageSize: must be between 1 and 1000"]),
        ("PageNumber=-1", ["PageNumber: digits only"]),
        ("PageNumber=%2B1&PageSize=a", ["PageNumber: digits only", "PageSize: digits only"]),
        ("PageNumber=", ["PageNumber: digits only"]),
        ("PageNumber=%D9%A3", ["PageNumber: digits only"]),
    ],
)
def test_get_all_paging_errors_are_1002(client, api_token, query, problems):
    response = client.get(f"{API}/user/getAll?Token={api_token}&{query}")
    assert response.status_code == 400
    assert response.json == result(1002, BINDING, None, problems)


def test_get_all_in_xml(client, api_token):
    response = client.get(
        f"{API}/user/getAll?Token={api_token}&PageNumber=1&PageSize=1", headers={"Accept": "text/xml"}
    )
    root = ET.fromstring(response.data)
    assert [child.tag for child in root] == ["Result", "Request", "Users"]
    (user,) = root.find("Users")
    assert user.tag == "User"
    assert user.findtext("LoginName") == "api"
    assert user.find("Roles") is not None and list(user.find("Roles")) == []
    assert user.find("ValidFrom") is None


def test_get_all_hides_users_whose_view_is_denied(app, client, api_token):
    deny_view(app, "api", "Jane.Roe")
    assert "Jane.Roe" not in names(client.get(f"{API}/user/getAll?Token={api_token}"))


def test_get_all_of_company_2_without_licence_is_8(client, token_for):
    response = client.get(f"{API}/user/getAll?Token={token_for('nolicence')}")
    assert response.status_code == 403
    assert response.json == result(
        8, "Db operation failed, licence violation", {"PageNumber": None, "PageSize": None}
    )


def test_without_view_privilege_1401(app, client):
    token = add_account(app, "blind", [])
    response = client.get(f"{API}/user/getAll?Token={token}&PageNumber=1")
    assert response.status_code == 403
    assert response.json == result(
        1401,
        "Privilege View of agenda Users violated for [LoginName all]",
        {"PageNumber": 1, "PageSize": None},
    )
    response = client.get(f"{API}/user/get?Token={token}&LoginName=John.Doo")
    assert response.json == result(
        1401, "Privilege View of agenda Users violated for [LoginName John.Doo]", {"LoginName": "John.Doo"}
    )


# --- get ---------------------------------------------------------------------


def test_get_system_user_1402_unknown_1400_foreign_1400(client, api_token):
    url = f"{API}/user/get?Token={api_token}&LoginName="
    response = client.get(url + "ADMIN")
    assert response.status_code == 403
    assert response.json == result(1402, "System user is not accessible by API", {"LoginName": "ADMIN"})
    for login_name in ("Foreign.User", "nobody"):
        response = client.get(url + login_name)
        assert response.status_code == 404
        assert response.json == result(
            1400, f"User LoginName [{login_name}] not found", {"LoginName": login_name}
        )


def test_get_record_permission_view_denied_1412(app, client, api_token):
    deny_view(app, "api", "Jane.Roe")
    response = client.get(f"{API}/user/get?Token={api_token}&LoginName=jane.roe")
    assert response.status_code == 403
    assert response.json == result(
        1412, "Record permission View of agenda User violated for [jane.roe]", {"LoginName": "jane.roe"}
    )


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", "LoginName: required"),
        ("&LoginName=", "LoginName: must not be empty or blank"),
        ("&LoginName=%20%20", "LoginName: must not be empty or blank"),
        ("&LoginName=a%09b", "LoginName: contains control characters"),
        ("&LoginName=" + "x" * 101, "LoginName: longer than 100 characters"),
    ],
)
def test_get_login_name_errors_are_1002(client, api_token, query, problem):
    response = client.get(f"{API}/user/get?Token={api_token}{query}")
    assert response.status_code == 400
    assert response.json == result(1002, BINDING, None, [problem])

"""POST user/remove: the document's samples, every error of its table, soft delete, audit, concurrency."""

import pytest
from defusedxml import ElementTree as ET
from sqlalchemy import select, update

from svc_agenda import services
from svc_agenda.models import AuditEntry, User
from vendorkit import db
from vendorkit.testing.concurrency import at_once

API = "/AktionNEXT/API"
OK = "Processed with result: ExecOK"


def result(code, message, request=None, model_state=None):
    return {"Result": {"Message": message, "Code": code, "ModelStateErr": model_state}, "Request": request}


def xml(code, message, login_name):
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n<Response><Result>"
        f"<Message>{message}</Message><Code>{code}</Code></Result>"
        f"<Request><LoginName>{login_name}</LoginName></Request></Response>"
    )


def remove(client, token, login_name, **kwargs):
    return client.post(f"{API}/user/remove?Token={token}", json={"LoginName": login_name}, **kwargs)


def remove_xml(client, token, login_name):
    body = f"<Request> <LoginName>{login_name}</LoginName> </Request>"
    return client.post(f"{API}/user/remove?Token={token}", data=body, content_type="application/xml")


def test_the_documents_json_sample(client, api_token):
    response = client.post(
        f"{API}/user/remove?Token={api_token}",
        data='{"LoginName":"John.Doo"}',
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json == {
        "Result": {"Message": "Processed with result: ExecOK", "Code": 0, "ModelStateErr": None},
        "Request": {"LoginName": "John.Doo"},
    }
    assert list(response.json) == ["Result", "Request"]
    assert list(response.json["Result"]) == ["Message", "Code", "ModelStateErr"]


def test_the_documents_xml_sample(client, api_token):
    response = remove_xml(client, api_token, "John.Doo")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.data.decode() == xml(0, OK, "John.Doo")
    root = ET.fromstring(response.data)
    assert root.find("Result/ModelStateErr") is None


def test_removal_keeps_the_row_with_version_and_audit_and_frees_the_name(app, client, api_token):
    assert remove(client, api_token, "john.doo").json == result(0, OK, {"LoginName": "john.doo"})
    response = client.get(f"{API}/user/get?Token={api_token}&LoginName=John.Doo")
    assert response.status_code == 404
    assert response.json == result(1400, "User LoginName [John.Doo] not found", {"LoginName": "John.Doo"})
    listed = client.get(f"{API}/user/getAll?Token={api_token}").json["Users"]
    assert "John.Doo" not in [user["LoginName"] for user in listed]
    created = client.post(
        f"{API}/user/create?Token={api_token}", json={"LoginName": "John.Doo", "UserName": "John Doo II"}
    )
    assert created.status_code == 200
    with app.app_context():
        session = db.session()
        rows = session.scalars(select(User).where(User.login_key == "john.doo").order_by(User.id)).all()
        assert [(row.user_name, row.removed_at is not None, row.version) for row in rows] == [
            ("John Doo", True, 2),
            ("John Doo II", False, 1),
        ]
        assert rows[0].removed_by is not None
        audit = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(entry.action, entry.target_login_name, entry.result_code) for entry in audit] == [
            ("remove", "john.doo", 0),
            ("create", "John.Doo", 0),
        ]
        assert audit[0].client_address == "127.0.0.1"
        assert audit[0].id_firma == 1


def test_a_second_remove_is_1400_with_login_and_firma(client, api_token):
    assert remove(client, api_token, "Jane.Roe").status_code == 200
    response = remove(client, api_token, "Jane.Roe")
    assert response.status_code == 404
    message = "User for [LoginName Jane.Roe, ID_Firma 1] not found or it could be a system user"
    assert response.json == result(1400, message, {"LoginName": "Jane.Roe"})
    assert remove_xml(client, api_token, "Jane.Roe").data.decode() == xml(1400, message, "Jane.Roe")


@pytest.mark.parametrize(
    "login_name", ["admin", "Foreign.User", "Nobody", "J%", "John_Doo", "John.Do*", "'John.Doo'"]
)
def test_system_foreign_unknown_or_pattern_names_are_1400(client, api_token, login_name):
    response = remove(client, api_token, login_name)
    assert response.status_code == 404
    assert response.json == result(
        1400,
        f"User for [LoginName {login_name}, ID_Firma 1] not found or it could be a system user",
        {"LoginName": login_name},
    )


def test_unicode_names_match_case_insensitively(client, api_token):
    response = remove(client, api_token, "JIŘÍ.NOVÁK")
    assert response.json == result(0, OK, {"LoginName": "JIŘÍ.NOVÁK"})


def test_the_echo_is_exact_even_with_spaces(client, api_token):
    response = remove(client, api_token, " John.Doo ")
    assert response.status_code == 404
    assert response.json["Request"] == {"LoginName": " John.Doo "}


@pytest.mark.parametrize(
    ("account", "login_name", "code", "message"),
    [
        ("reader", "John.Doo", 1407, "Privilege Delete of agenda Users violated for [LoginName John.Doo]"),
        ("nolicence", "Foreign.User", 8, "Db operation failed, licence violation"),
    ],
    ids=["without_delete_privilege_1407", "without_licence_8"],
)
def test_an_account_not_allowed_to_remove_gets_403(client, token_for, account, login_name, code, message):
    token = token_for(account)
    response = remove(client, token, login_name)
    assert response.status_code == 403
    assert response.json == result(code, message, {"LoginName": login_name})
    assert remove_xml(client, token, login_name).data.decode() == xml(code, message, login_name)


def test_record_permission_delete_denied_2(client, api_token, token_for):
    response = remove(client, api_token, "Protected.Boss")
    assert response.status_code == 403
    message = "Db operation failed, record missing priviliges"
    assert response.json == result(2, message, {"LoginName": "Protected.Boss"})
    assert remove_xml(client, api_token, "Protected.Boss").data.decode() == xml(2, message, "Protected.Boss")
    assert client.get(f"{API}/user/get?Token={api_token}&LoginName=Protected.Boss").status_code == 200
    # The permission binds one account only: fenced (from inside its filter) may remove the user.
    inside = {"REMOTE_ADDR": "203.0.113.5"}
    assert remove(client, token_for("fenced"), "Protected.Boss", environ_base=inside).status_code == 200


def test_the_user_of_an_api_account_is_never_removed_6(client, api_token):
    for login_name in ("api", "READER", "limited"):
        response = remove(client, api_token, login_name)
        assert response.status_code == 403
        message = "Db operation failed, database data consistence violation"
        assert response.json == result(6, message, {"LoginName": login_name})
    assert remove_xml(client, api_token, "reader").data.decode() == xml(
        6, "Db operation failed, database data consistence violation", "reader"
    )


def _lose_the_race(monkeypatch, **change):
    """Let another writer change the row between this request's lookup and its conditional write."""
    original = services._active_user

    def looked_up_then_changed(session, id_firma, login_name):
        user = original(session, id_firma, login_name)
        if user is not None:
            # SQLite queues writers, so the other writer's change is made in this request's own
            # transaction (no commit: the request's unit of work owns it); the object keeps the
            # version it was read with either way.
            session.execute(
                update(User)
                .where(User.id == user.id)
                .values(version=User.version + 1, **change)
                .execution_options(synchronize_session=False)
            )
        return user

    monkeypatch.setattr(services, "_active_user", looked_up_then_changed)


def test_losing_the_conditional_write_to_a_removal_is_5(client, api_token, monkeypatch):
    from svc_agenda.wire import utcnow

    _lose_the_race(monkeypatch, removed_at=utcnow())
    response = remove(client, api_token, "John.Doo")
    assert response.status_code == 403
    message = "Db operation failed, already deleted by another user"
    assert response.json == result(5, message, {"LoginName": "John.Doo"})


def test_losing_the_conditional_write_to_a_change_is_4(app, client, api_token, monkeypatch):
    _lose_the_race(monkeypatch)
    response = remove(client, api_token, "John.Doo")
    assert response.status_code == 403
    message = "Db operation failed, already changed by another user"
    assert response.json == result(4, message, {"LoginName": "John.Doo"})
    with app.app_context():
        assert db.session().scalar(select(User.removed_at).where(User.login_key == "john.doo")) is None


def test_a_database_failure_rolls_back_and_answers_7(failing, client, api_token):
    with failing("INSERT INTO audit_entries"):
        response = remove(client, api_token, "John.Doo")
    assert response.status_code == 403
    message = "Db operation failed, operation can not be executed because another problems occured"
    assert response.json == result(7, message, {"LoginName": "John.Doo"})
    # Nothing was written: the user is still there.
    assert client.get(f"{API}/user/get?Token={api_token}&LoginName=John.Doo").status_code == 200


def test_concurrent_removes_exactly_one_succeeds(app, api_token):
    def remove_jane():
        response = remove(app.test_client(), api_token, "Jane.Roe")
        return response.status_code, response.json["Result"]["Code"]

    answers = at_once(*[remove_jane] * 6)
    assert answers.count((200, 0)) == 1
    assert set(answers) - {(200, 0)} <= {(404, 1400), (403, 5)}
    assert len(answers) == 6


def test_refused_removes_are_audited_with_their_code(app, client, api_token, token_for):
    remove(client, api_token, "Nobody")
    remove(client, token_for("reader"), "John.Doo")
    client.post(f"{API}/user/remove?Token={api_token}", json={})
    client.post(f"{API}/user/remove?Token={api_token}", data="LoginName=x", content_type="text/plain")
    remove(client, api_token, "x" * 150)  # a name that does not bind is recorded as sent, cut to fit
    with app.app_context():
        audit = db.session().execute(
            select(AuditEntry.target_login_name, AuditEntry.result_code).order_by(AuditEntry.id)
        )
        assert [tuple(row) for row in audit] == [
            ("Nobody", 1400),
            ("John.Doo", 1407),
            (None, 1002),
            (None, 415),
            ("x" * 100, 1002),
        ]


def test_a_refusal_whose_audit_fails_is_still_answered(failing, client, api_token):
    with failing("INSERT INTO audit_entries"):
        response = remove(client, api_token, "Nobody")
    assert response.status_code == 404
    assert response.json["Result"]["Code"] == 1400

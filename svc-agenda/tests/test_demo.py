"""Demo data: the accounts and users the README lists, loaded idempotently, never resurrecting removed users."""

from sqlalchemy import func, select

from svc_agenda.demo import load_demo_data
from svc_agenda.models import ApiAccount, Company, RecordPermission, User
from vendorkit import db

API = "/AktionNEXT/API"


def counts(app):
    with app.app_context():
        session = db.session()
        return [
            session.scalar(select(func.count()).select_from(model))
            for model in (Company, ApiAccount, User, RecordPermission)
        ]


def test_the_demo_data_the_readme_lists(app):
    assert counts(app) == [2, 7, 13, 1]
    with app.app_context():
        session = db.session()
        rows = session.execute(
            select(
                ApiAccount.user_login,
                ApiAccount.id_firma,
                ApiAccount.ip_filter,
                ApiAccount.rate_policy,
                ApiAccount.key_revoked,
            )
        ).all()
        assert {tuple(row) for row in rows} == {
            ("api", 1, None, None, False),
            ("reader", 1, None, None, False),
            ("fenced", 1, "203.0.113.0/24", None, False),
            ("brokenfilter", 1, "10.0.0.0/33, localhost", None, False),
            ("limited", 1, None, "5/10", False),
            ("revoked", 1, None, None, True),
            ("nolicence", 2, None, None, False),
        }
        system = session.scalars(select(User.login_name).where(User.is_system.is_(True))).all()
        assert system == ["admin"]
        companies = {
            company.id_firma: company.licensed_agendas for company in session.scalars(select(Company))
        }
        assert companies == {1: ["Users", "Persons"], 2: ["Persons"]}


def test_loading_again_changes_nothing(app):
    before = counts(app)
    with app.app_context():
        session = db.session()
        load_demo_data(session, app.config)
        session.commit()
    assert counts(app) == before


def test_a_restart_does_not_resurrect_a_removed_demo_user(make_app, token_for, client):
    token = token_for("api")
    assert client.post(f"{API}/user/remove?Token={token}", json={"LoginName": "John.Doo"}).status_code == 200
    restarted = make_app()
    with restarted.app_context():
        rows = db.session().scalars(select(User).where(User.login_key == "john.doo")).all()
        assert [row.removed_at is not None for row in rows] == [True]

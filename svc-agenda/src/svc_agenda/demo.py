"""svc-agenda demo data (the accounts and users the README lists), loaded idempotently when DEMO_DATA=1."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from svc_agenda.models import ApiAccount, Company, RecordPermission, User
from svc_agenda.services import login_key, new_account, new_user
from svc_agenda.wire import utcnow

COMPANIES = [
    (1, "AKTION Demo s.r.o.", ["Users", "Persons"]),
    (2, "Bez licence s.r.o.", ["Persons"]),
]

ALL = ["View", "New", "Edit", "Delete"]

# UserLogin, ApiKey, ID_Firma, privileges on agenda Users, IpFilter, RatePolicy, key revoked
ACCOUNTS: list[tuple[str, str, int, list[str], str | None, str | None, bool]] = [
    ("api", "api-demo-key", 1, ALL, None, None, False),
    ("reader", "reader-demo-key", 1, ["View"], None, None, False),
    ("fenced", "fenced-demo-key", 1, ["View", "New", "Delete"], "203.0.113.0/24", None, False),
    ("brokenfilter", "brokenfilter-demo-key", 1, ["View", "Delete"], "10.0.0.0/33, localhost", None, False),
    ("limited", "limited-demo-key", 1, ["View"], None, "5/10", False),
    ("revoked", "revoked-demo-key", 1, ["View"], None, None, True),
    ("nolicence", "nolicence-demo-key", 2, ["View", "New", "Delete"], None, None, False),
]

# ID_Firma, LoginName, UserName, system user
USERS: list[tuple[int, str, str, bool]] = [
    (1, "admin", "System Administrator", True),
    *[(firma, login, f"API account {login}", False) for login, _, firma, *_ in ACCOUNTS],
    (1, "John.Doo", "John Doo", False),
    (1, "Jane.Roe", "Jane Roe", False),
    (1, "Jiří.Novák", "Jiří Novák", False),
    (1, "Protected.Boss", "Protected Boss", False),
    (2, "Foreign.User", "Foreign User", False),
]

# (account, user) pairs whose record permissions differ from "everything allowed"
PERMISSIONS = [("api", "Protected.Boss", {"can_view": True, "can_edit": True, "can_delete": False})]


def load_demo_data(session: Session, config: dict[str, Any]) -> None:
    """Insert the demo records that are missing; never change existing ones, never resurrect removed users."""
    now = utcnow()
    for id_firma, name, agendas in COMPANIES:
        if session.get(Company, id_firma) is None:
            session.add(Company(id_firma=id_firma, name=name, licensed_agendas=agendas))
    session.flush()

    existing_accounts = set(session.scalars(select(ApiAccount.login_key)))
    for user_login, api_key, id_firma, privileges, ip_filter, rate_policy, revoked in ACCOUNTS:
        if login_key(user_login) not in existing_accounts:
            session.add(
                new_account(
                    user_login,
                    api_key,
                    id_firma,
                    privileges,
                    ip_filter=ip_filter,
                    rate_policy=rate_policy,
                    key_revoked=revoked,
                )
            )

    # Any row under the name, active or removed, means the demo user was already loaded once.
    known_users = set(session.scalars(select(User.login_key)))
    inserted: dict[str, User] = {}
    for id_firma, login_name, user_name, is_system in USERS:
        if login_key(login_name) not in known_users:
            user = new_user(id_firma, login_name, user_name, now=now, is_system=is_system)
            session.add(user)
            inserted[login_name] = user
    session.flush()

    # A demo user's permissions come with it; they are never added to an older record.
    for user_login, login_name, rights in PERMISSIONS:
        user = inserted.get(login_name)
        account = session.scalars(
            select(ApiAccount).where(ApiAccount.login_key == login_key(user_login))
        ).first()
        if user is not None and account is not None:
            session.add(RecordPermission(account_id=account.id, user_id=user.id, **rights))

"""svc-offboard logic: plain functions over a Session, returning the vendor's payloads.

Business failures raise ``errors.Failure(message)``; each view renders it in
its endpoint's failure shape. The functions never commit: a writing view runs
them in ``db.unit_of_work()``, which commits when they return and rolls back
when they raise.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from svc_offboard import schemas
from svc_offboard.errors import INVALID_CREDENTIALS, SESSION_NOT_RENEWABLE, Failure
from svc_offboard.models import Client, ClientOwner, Plan, Role, RoleAssociation, Subclient, Token, User
from svc_offboard.schemas import MASTER_GROUP_NAME, MAX_ID, digit_string_value
from vendorkit.db import is_sqlite
from vendorkit.security import hash_secret, hash_token, new_token, verify_secret

Named = TypeVar("Named", Client, Role)

# How stale a token's last use may be before an authenticated request records it again.
IDLE_CLOCK_GRANULARITY = timedelta(seconds=5)
FIRST_NEW_USER_ID = 100
MASTER_GROUP = {"userGroupId": 1, "userGroupName": MASTER_GROUP_NAME}
HEX = re.compile(r"[0-9a-fA-F]+")
ENTITY_TYPE_CLIENT = 3
VIRTUAL_SERVER = "Virtual Server"
# The CommServe's own CommCell id, as the product numbers it.
COMMCELL_ID = 2
# The Commcell release this service answers as: 11 (Feature Release 40).
SERVICE_PACK = 40
# activityType values of clientActivityControl.
ACTIVITY_BACKUP, ACTIVITY_RESTORE, ACTIVITY_DATA_AGING = 1, 2, 16
CREATE_USER_LOCK = 0x0FF_B0A2D  # advisory lock key serialising new userIds on PostgreSQL


def utcnow() -> datetime:
    """Now, naive UTC (as stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def find_user_by_name(session: Session, name: str, *, for_update: bool = False) -> User | None:
    """The user of that name, case-insensitively (locked for the transaction when asked)."""
    if "\x00" in name:
        return None
    query = select(User).where(User.name_key == name.lower())
    return session.scalar(_locked(query) if for_update else query)


def find_user_by_id(session: Session, user_id: int, *, for_update: bool = False) -> User | None:
    """The user ``user_id`` (locked for the transaction when asked)."""
    if not 1 <= user_id <= MAX_ID:
        return None
    query = select(User).where(User.user_id == user_id)
    return session.scalar(_locked(query) if for_update else query)


def _locked(query):
    """``query`` locking its rows until commit (PostgreSQL's FOR NO KEY UPDATE; SQLite ignores it).

    NO KEY UPDATE serialises writers of the row without blocking rows that merely
    reference it (a new owner or role association inserted meanwhile).
    """
    return query.with_for_update(key_share=True)


# --- login and tokens -----------------------------------------------------------------


def token_digest(header_value: str) -> str | None:
    """The stored digest of an ``Authtoken`` header (``QSDK <hex>`` or the hex alone)."""
    value = header_value.strip()
    if value[:5].upper() == "QSDK ":
        value = value[5:].strip()
    if not HEX.fullmatch(value):
        return None
    return hash_token(value.lower())


def login(session: Session, username: str, password: str, timeout_minutes: int) -> dict[str, Any]:
    """Check the credentials and open a session: Login's payload; Failure when they do not match."""
    user = find_user_by_name(session, username)
    # Verify even for unknown or disabled users, so that refusals all take the same time.
    matches = verify_secret(user.password_hash if user else None, password)
    if user is None or not matches or not user.enable_user:
        raise Failure(INVALID_CREDENTIALS)
    return {
        "token": _issue_token(session, user, timeout_minutes),
        "userName": user.user_name,
        "userId": user.user_id,
        "aliasName": str(user.user_id),
        "userGUID": user.user_guid,
        "smtpAddress": user.email,
        "loginAttempts": 0,
        "remainingLockTime": 0,
        "isAccountLocked": False,
        "forcePasswordChange": False,
        "providerType": 1,
        "ccn": 0,
        "errList": [],
    }


def _issue_token(session: Session, user: User, timeout_minutes: int) -> str:
    """A new session token for ``user`` (``QSDK <hex>``); only its digest is stored."""
    token = new_token(48)
    session.add(
        Token(
            token_hash=hash_token(token),
            user_id=user.user_id,
            timeout_minutes=timeout_minutes,
            last_used_at=utcnow(),
        )
    )
    return f"QSDK {token}"


def renew_token(session: Session, presented: str | None, renewal_hours: int) -> dict[str, Any]:
    """Exchange a token that is live or idle-expired (within the renewal window) for a new one.

    The token comes in ``sessionId`` (cvpysdk sends it there and in ``Authtoken``);
    the old token is revoked, so a token renews at most once.
    """
    digest = token_digest(presented) if presented is not None else None
    # Locked: of two renewals of one token, the second finds it gone.
    token = session.scalar(_locked(select(Token).where(Token.token_hash == digest))) if digest else None
    if token is None:
        raise Failure(SESSION_NOT_RENEWABLE)
    user = session.get(User, token.user_id)
    idle = utcnow() - token.last_used_at
    if idle > timedelta(minutes=token.timeout_minutes, hours=renewal_hours) or not user.enable_user:
        raise Failure(SESSION_NOT_RENEWABLE)
    session.delete(token)
    new = _issue_token(session, user, token.timeout_minutes)
    return {"token": new, "userName": user.user_name, "userId": user.user_id}


def who_am_i(user: User) -> dict[str, Any]:
    """The user behind the presented token."""
    return {"user": {"userName": user.user_name, "userId": user.user_id, "userGUID": user.user_guid}}


def live_token(session: Session, header_value: str | None) -> Token | None:
    """The live token an ``Authtoken`` header presents (not logged out, not idle past its timeout)."""
    digest = token_digest(header_value or "")
    token = session.get(Token, digest) if digest is not None else None
    if token is None or utcnow() - token.last_used_at > timedelta(minutes=token.timeout_minutes):
        return None
    return token


def idle_clock_is_stale(token: Token) -> bool:
    """Whether the token's last use is old enough to record again.

    Timeouts count in minutes: restarting the clock at most every few seconds keeps
    reads from writing (and, on SQLite, from queueing for the write lock) each time.
    """
    return utcnow() - token.last_used_at >= IDLE_CLOCK_GRANULARITY


def restart_idle_clock(session: Session, digest: str) -> None:
    """Record a use of the token now."""
    session.execute(update(Token).where(Token.token_hash == digest).values(last_used_at=utcnow()))


def token_user(session: Session, token: Token) -> User:
    """The user a token belongs to."""
    return session.get(User, token.user_id)


def logout(session: Session, digest: str) -> dict[str, Any]:
    """Revoke the presented token."""
    session.execute(delete(Token).where(Token.token_hash == digest))
    return {"errorCode": 0, "errorMessage": "User logged out"}


# --- users -------------------------------------------------------------------------------


def user_entity(user: User) -> dict[str, Any]:
    """A user's ``userEntity``, as listings and write answers name it."""
    return {"userId": user.user_id, "userName": user.user_name, "userGUID": user.user_guid}


def user_summary(user: User) -> dict[str, Any]:
    """A user as GET User lists it."""
    return {
        "userEntity": user_entity(user),
        "email": user.email,
        "fullName": user.full_name,
        "description": user.description,
        "enableUser": user.enable_user,
    }


def _users_by_id(session: Session) -> list[User]:
    """Every user, by userId."""
    return list(session.scalars(select(User).order_by(User.user_id)))


def list_users(session: Session) -> dict[str, Any]:
    """The users by userId (GET User)."""
    return {"users": [user_summary(user) for user in _users_by_id(session)]}


def get_user(session: Session, user_id: int) -> dict[str, Any]:
    """One user with its user groups and role associations (GET User/{id})."""
    user = _existing_user(session, user_id)
    return {
        "users": [
            {
                **user_summary(user),
                "associatedUserGroups": [dict(MASTER_GROUP)] if user.is_master else [],
                "securityAssociations": {"associations": _role_associations(session, user)},
            }
        ]
    }


def _role_associations(session: Session, user: User) -> list[dict[str, Any]]:
    """The user's role associations, one per (client, role), by clientId then roleId."""
    rows = session.execute(
        select(Client.client_id, Client.client_name, Role.role_id, Role.role_name)
        .join(RoleAssociation, RoleAssociation.client_id == Client.client_id)
        .join(Role, Role.role_id == RoleAssociation.role_id)
        .where(RoleAssociation.user_id == user.user_id)
        .order_by(Client.client_id, Role.role_id)
    )
    return [
        {
            "entities": {"entity": [{"clientId": cid, "clientName": cname, "_type_": ENTITY_TYPE_CLIENT}]},
            "properties": {"role": {"roleId": rid, "roleName": rname}},
        }
        for cid, cname, rid, rname in rows
    ]


def _existing_user(session: Session, user_id: int, *, for_update: bool = False) -> User:
    """The user ``user_id`` (locked for the transaction when asked); Failure when there is none."""
    user = find_user_by_id(session, user_id, for_update=for_update)
    if user is None:
        raise Failure(f"User [{user_id}] does not exist.")
    return user


def user_security(session: Session, user_id: int) -> dict[str, Any]:
    """The user's role associations (GET User/{id}/Security)."""
    return {"associations": _role_associations(session, _existing_user(session, user_id))}


def v4_user_summary(user: User) -> dict[str, Any]:
    """A user in the v4 API's shape."""
    return {
        "id": user.user_id,
        "name": user.user_name,
        "GUID": user.user_guid,
        "fullName": user.full_name,
        "email": user.email,
        "description": user.description,
        "enabled": user.enable_user,
    }


def list_v4_users(session: Session) -> dict[str, Any]:
    """The users in the v4 API's shape, by id."""
    return {"users": [v4_user_summary(user) for user in _users_by_id(session)]}


def get_v4_user(session: Session, user_id: int) -> dict[str, Any]:
    """One user in the v4 API's shape, with its user groups."""
    user = _existing_user(session, user_id)
    groups = [{"id": MASTER_GROUP["userGroupId"], "name": MASTER_GROUP["userGroupName"]}]
    return {**v4_user_summary(user), "associatedUserGroups": groups if user.is_master else []}


def _transfer_target_id(value: str | None, name: str) -> int:
    """A newUserId / newUserGroupId query parameter (digits): 0 when absent."""
    if value is None or value == "":
        return 0
    number = digit_string_value(value)
    if number is None or number > MAX_ID:
        raise Failure(f"Invalid {name}.")
    return number


def delete_user(
    session: Session, caller: User, user_id: int, new_user_id: str | None, new_group_id: str | None
) -> dict[str, Any]:
    """Delete a user, handing the clients it owns to another user (DELETE User/{id})."""
    heir_id = _transfer_target_id(new_user_id, "newUserId")
    group_id = _transfer_target_id(new_group_id, "newUserGroupId")
    if heir_id and group_id:
        raise Failure("Give either newUserId or newUserGroupId, not both.")
    if group_id:
        raise Failure("Clients are owned by users here: give newUserId.")
    if not heir_id:
        raise Failure("Ownership transfer is mandatory: give newUserId.")
    user = _existing_user(session, user_id, for_update=True)
    if user.user_id == caller.user_id:
        raise Failure("You cannot delete your own account.")
    heir = _existing_user(session, heir_id, for_update=True)
    if heir.user_id == user.user_id:
        raise Failure("Invalid newUserId.")
    owned = list(
        session.scalars(
            _locked(
                select(Client.client_id)
                .join(ClientOwner, ClientOwner.client_id == Client.client_id)
                .where(ClientOwner.user_id == user.user_id)
                .order_by(Client.client_id)
            )
        )
    )
    already = set(
        session.scalars(
            select(ClientOwner.client_id).where(
                ClientOwner.user_id == heir.user_id, ClientOwner.client_id.in_(owned)
            )
        )
    )
    session.add_all(
        ClientOwner(client_id=client_id, user_id=heir.user_id)
        for client_id in owned
        if client_id not in already
    )
    for model in (ClientOwner, RoleAssociation, Token):
        session.execute(delete(model).where(model.user_id == user.user_id))
    session.delete(user)
    return {
        "response": [
            {"errorCode": 0, "errorString": f"Deleted user {user.user_name}", "entity": user_entity(user)}
        ]
    }


def _role_pairs(session: Session, associations: list[dict[str, Any]]) -> set[tuple[int, int]]:
    """The (clientId, roleId) pairs of a new user's checked ``associations``: their clients and roles looked up."""
    pairs: set[tuple[int, int]] = set()
    for association in associations:
        client_ids = [_find_client(session, ref) for ref in association["entities"]["entity"]]
        role_id = _find_role(session, association["properties"]["role"])
        pairs.update((client_id, role_id) for client_id in client_ids)
    return pairs


def _find_client(session: Session, ref: int | str) -> int:
    """The clientId of the client ``ref`` names (by id or by name); Failure when there is none."""
    return _find_named(session, Client, Client.client_name, ref).client_id


def _find_role(session: Session, ref: int | str) -> int:
    """The roleId of the role ``ref`` names (by id or by name); Failure when there is none."""
    return _find_named(session, Role, Role.role_name, ref).role_id


def _find_named(session: Session, model: type[Named], name_column: Any, ref: int | str) -> Named:
    """The ``model`` row ``ref`` names: its primary key, or its name; Failure ``<Model> [ref] does not exist.``"""
    if isinstance(ref, int):
        found = session.get(model, ref) if 1 <= ref <= MAX_ID else None
    else:
        found = None if "\x00" in ref else session.scalar(select(model).where(name_column == ref))
    if found is None:
        raise Failure(f"{model.__name__} [{ref}] does not exist.")
    return found


def create_user(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    """Create exactly one user (POST /User); its entity on success.

    The product checks the user's name, looks it up, then checks the other fields
    and looks up the clients and roles they name: the schema checks each part in turn.
    """
    (spec,) = schemas.CreateUserRequestSchema().check(body)["users"]
    name = schemas.NewUserSchema(only=("userEntity",)).check(spec)["userEntity"]["userName"]
    _serialise_user_creation(session)
    if find_user_by_name(session, name) is not None:
        raise Failure(f"User [{name}] already exists.")
    details = schemas.NewUserSchema(exclude=("userEntity",)).check(spec)
    password = details.get("password")
    pairs = _role_pairs(session, details.get("securityAssociations", {}).get("associations", []))

    highest = session.scalar(select(func.max(User.user_id))) or 0
    user = User(
        user_id=max(highest + 1, FIRST_NEW_USER_ID),
        user_name=name,
        name_key=name.lower(),
        user_guid=str(uuid.uuid4()).upper(),
        email=details.get("email", ""),
        full_name=details.get("fullName", ""),
        description=details.get("description", ""),
        password_hash=hash_secret(password) if password is not None else None,
        enable_user=details.get("enableUser", True),
        is_master=bool(details.get("associatedUserGroups")),
    )
    session.add(user)
    try:
        # Written now, so that a name taken meanwhile is this request's failure (the
        # unit of work rolls the failed transaction back), and before the rows that refer to it.
        session.flush()
    except IntegrityError:
        raise Failure(f"User [{name}] already exists.") from None
    session.add_all(
        RoleAssociation(user_id=user.user_id, client_id=client_id, role_id=role_id)
        for client_id, role_id in sorted(pairs)
    )
    return {"response": [{"errorCode": 0, "entity": user_entity(user)}]}


def _serialise_user_creation(session: Session) -> None:
    """Take the user-creation lock for this transaction (SQLite's BEGIN IMMEDIATE already serialises)."""
    if not is_sqlite(session.get_bind()):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CREATE_USER_LOCK})


# --- clients -----------------------------------------------------------------------------


def client_entity(client: Client) -> dict[str, Any]:
    """A client's ``clientEntity``."""
    return {
        "clientId": client.client_id,
        "clientName": client.client_name,
        "hostName": client.host_name,
        "displayName": client.display_name,
        "clientGUID": client.client_guid,
    }


def list_clients(session: Session) -> dict[str, Any]:
    """The clients by clientId, VM clients included (GET Client)."""
    clients = session.scalars(select(Client).order_by(Client.client_id))
    return {"clientProperties": [{"client": {"clientEntity": client_entity(client)}} for client in clients]}


def list_hypervisors(session: Session) -> dict[str, Any]:
    """The virtualization (VSPseudo) clients: Virtual Server clients that are not VMs themselves."""
    clients = session.scalars(
        select(Client)
        .where(Client.app_name == VIRTUAL_SERVER, Client.pseudo_client_id.is_(None))
        .order_by(Client.client_id)
    )
    return {"VSPseudoClientsList": [{"client": client_entity(client)} for client in clients]}


def list_access_nodes() -> dict[str, Any]:
    """The VSA access nodes (proxies): this service models none, so the list is empty."""
    return {"clients": []}


def commserv_info(config: dict[str, Any]) -> dict[str, Any]:
    """The CommServe this web service fronts (GET CommServ), from the configuration."""
    name = config["COMMSERV_NAME"]
    return {
        "commcell": {
            "commCellId": COMMCELL_ID,
            "commCellName": name,
            "csGUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, config["COMMSERV_HOSTNAME"])).upper(),
        },
        "hostName": config["COMMSERV_HOSTNAME"],
        "csTimeZone": {"TimeZoneName": config["COMMSERV_TIME_ZONE"]},
        "timeZone": config["COMMSERV_TIME_ZONE"],
        "currentSPVersion": SERVICE_PACK,
        "csVersionInfo": f"11.{SERVICE_PACK}",
        "releaseName": "11.0.0",
    }


def _client_or_fail(session: Session, client_id: int, *, for_update: bool = False) -> Client:
    client = None
    if 1 <= client_id <= MAX_ID:
        query = select(Client).where(Client.client_id == client_id)
        client = session.scalar(_locked(query) if for_update else query)
    if client is None:
        raise Failure(f"Client [{client_id}] does not exist.")
    return client


def get_client(session: Session, client_id: int) -> dict[str, Any]:
    """One client: owners, system, activity, and its VM status for a VM client (GET Client/{id})."""
    client = _client_or_fail(session, client_id)
    owners = session.execute(
        select(User.user_id, User.user_name)
        .join(ClientOwner, ClientOwner.user_id == User.user_id)
        .where(ClientOwner.client_id == client.client_id)
        .order_by(User.user_id)
    ).all()
    backing_up = bool(
        session.scalar(
            select(func.count())
            .select_from(Subclient)
            .where(Subclient.client_id == client.client_id, Subclient.enable_backup.is_(True))
        )
    )
    properties: dict[str, Any] = {
        "client": {
            "clientEntity": client_entity(client),
            "displayName": client.display_name,
            "osInfo": {
                "Type": client.os_type,
                "SubType": client.os_subtype,
                "OsDisplayInfo": {"OSName": client.os_name, "ProcessorType": client.processor_type},
            },
            "cvdPort": client.cvd_port,
            "TimeZone": {"TimeZoneName": client.time_zone_name},
            "versionInfo": {
                "version": f"ServicePack:{SERVICE_PACK}",
                "GalaxyRelease": {"ReleaseString": "11.0.0"},
            },
        },
        "clientProps": {
            "securityAssociations": {
                "ownerAssociations": {"owners": [{"userId": uid, "userName": name} for uid, name in owners]}
            },
            "clientSecurity": {"clientOwners": ",".join(name for _, name in owners)},
            # Backup switches live on the subclients; the client backs up while any of them does.
            # Restores, data aging and content indexing are not modelled: restores and aging run.
            "activityControl": {
                "EnableDataManagement": backing_up,
                "EnableDataRecovery": True,
                "EnableOnlineContentIndex": False,
            },
            "clientActivityControl": {
                "activityControlOptions": [
                    {"activityType": ACTIVITY_BACKUP, "enableActivityType": backing_up},
                    {"activityType": ACTIVITY_RESTORE, "enableActivityType": True},
                    {"activityType": ACTIVITY_DATA_AGING, "enableActivityType": True},
                ]
            },
            "EnableSnapBackups": False,
        },
    }
    if client.pseudo_client_id is not None:
        hypervisor = session.get(Client, client.pseudo_client_id)
        properties["vmStatusInfo"] = {
            "strGUID": client.vm_guid,
            "vmName": client.client_name,
            "pseudoClient": {"clientId": hypervisor.client_id, "clientName": hypervisor.client_name},
        }
    return {"clientProperties": [properties]}


def _owner_ids(session: Session, owners: list[dict[str, Any]]) -> list[int]:
    """The userIds checked ``owners`` name (by userId and/or userName, both agreeing), in order, once each."""
    ids: list[int] = []
    for owner in owners:
        user_id, name = owner.get("userId"), owner.get("userName")
        user = find_user_by_id(session, user_id) if user_id is not None else find_user_by_name(session, name)
        if user is None:
            raise Failure(f"User [{user_id if user_id is not None else name}] does not exist.")
        if user_id is not None and name is not None and user.name_key != name.lower():
            raise Failure("Invalid owners.")
        if user.user_id not in ids:
            ids.append(user.user_id)
    return ids


def update_client_owners(session: Session, client_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Replace (1), add to (2) or remove from (3) a client's owners.

    The product looks the client up before it checks the body, then looks up the owners.
    """
    client = _client_or_fail(session, client_id, for_update=True)
    fields = schemas.UpdateClientRequestSchema().check(body)
    owner_associations = _dig(
        fields, "clientProperties", "clientProps", "securityAssociations", "ownerAssociations"
    )
    if owner_associations is None:
        return {"response": [{"errorCode": 0}]}
    operation = owner_associations.get("ownersOperationType", 1)
    wanted = _owner_ids(session, owner_associations["owners"])
    current = set(
        session.scalars(select(ClientOwner.user_id).where(ClientOwner.client_id == client.client_id))
    )
    if operation == 1:
        to_add, to_remove = [u for u in wanted if u not in current], current - set(wanted)
    elif operation == 2:
        to_add, to_remove = [u for u in wanted if u not in current], set()
    else:
        to_add, to_remove = [], current & set(wanted)
    if to_remove:
        session.execute(
            delete(ClientOwner).where(
                ClientOwner.client_id == client.client_id, ClientOwner.user_id.in_(to_remove)
            )
        )
    session.add_all(ClientOwner(client_id=client.client_id, user_id=user_id) for user_id in to_add)
    return {"response": [{"errorCode": 0}]}


def _dig(value: Any, *keys: str) -> Any:
    """``value[keys[0]][keys[1]]...``; None where a level is missing."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


# --- subclients --------------------------------------------------------------------------


def _subclient_properties(subclient: Subclient, client: Client, plan: Plan | None) -> dict[str, Any]:
    return {
        "subClientEntity": {
            "subclientId": subclient.subclient_id,
            "subclientName": subclient.subclient_name,
            "clientId": client.client_id,
            "clientName": client.client_name,
            "appName": client.app_name,
            "instanceName": client.instance_name,
            "backupsetName": client.backupset_name,
        },
        "commonProperties": {
            "enableBackup": subclient.enable_backup,
            "isDefaultSubclient": subclient.is_default,
        },
        "planEntity": {"planId": plan.plan_id, "planName": plan.plan_name} if plan else None,
    }


def _subclient_rows(session: Session, *conditions: Any):
    return session.execute(
        select(Subclient, Client, Plan)
        .join(Client, Client.client_id == Subclient.client_id)
        .outerjoin(Plan, Plan.plan_id == Subclient.plan_id)
        .where(*conditions)
        .order_by(Subclient.subclient_id)
    ).all()


def list_subclients(session: Session, client_id_param: str | None) -> dict[str, Any]:
    """A client's subclients by subclientId (GET Subclient?clientId=)."""
    client_id = digit_string_value(client_id_param) if client_id_param is not None else None
    if not client_id:
        raise Failure("Invalid clientId.")
    client = _client_or_fail(session, client_id)
    rows = _subclient_rows(session, Subclient.client_id == client.client_id)
    return {"subClientProperties": [_subclient_properties(*row) for row in rows]}


def get_subclient(session: Session, subclient_id: int) -> dict[str, Any]:
    """One subclient (GET Subclient/{id})."""
    rows = _subclient_rows(session, Subclient.subclient_id == subclient_id) if subclient_id <= MAX_ID else []
    if not rows:
        raise Failure(f"Subclient [{subclient_id}] does not exist.")
    return {"subClientProperties": [_subclient_properties(*rows[0])]}


def update_subclient(session: Session, subclient_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Apply ``commonProperties.enableBackup``; nothing else is writable."""
    subclient = session.get(Subclient, subclient_id) if 1 <= subclient_id <= MAX_ID else None
    if subclient is None:
        raise Failure(f"Subclient [{subclient_id}] does not exist.")
    # The product looks the subclient up before it checks the body.
    fields = schemas.UpdateSubclientRequestSchema().check(body)
    enable_backup = _dig(fields, "subClientProperties", "commonProperties", "enableBackup")
    if enable_backup is not None:
        subclient.enable_backup = enable_backup
    return {"response": [{"errorCode": 0}]}


# --- offboarding -------------------------------------------------------------------------


def resolve_offboard_user(session: Session, user_id: int | None, user_name: str | None) -> User:
    """The user an offboard request names (by id, by name, or both agreeing), locked for the transaction."""
    if user_id is not None:
        user = _existing_user(session, user_id, for_update=True)
        if user_name is not None and user.name_key != user_name.lower():
            raise Failure("userName and userId do not refer to the same user.")
        return user
    user = find_user_by_name(session, user_name, for_update=True)
    if user is None:
        raise Failure(f"User [{user_name}] does not exist.")
    return user


def offboard_user(session: Session, user_id: int | None, user_name: str | None) -> dict[str, Any]:
    """Remove the user as owner of every client it owns, disable backup there, drop its roles there."""
    user = resolve_offboard_user(session, user_id, user_name)
    # The user row is locked (FOR NO KEY UPDATE on PostgreSQL; SQLite serialises writers):
    # a concurrent offboard of the same user waited for it and now finds nothing left.
    owned = list(
        session.scalars(
            select(ClientOwner.client_id)
            .where(ClientOwner.user_id == user.user_id)
            .order_by(ClientOwner.client_id)
        )
    )
    if owned:
        # Lock the clients too, in id order, against a concurrent owner update.
        session.execute(
            _locked(select(Client.client_id).where(Client.client_id.in_(owned)).order_by(Client.client_id))
        )
        session.execute(
            delete(ClientOwner).where(ClientOwner.user_id == user.user_id, ClientOwner.client_id.in_(owned))
        )
        session.execute(update(Subclient).where(Subclient.client_id.in_(owned)).values(enable_backup=False))
        session.execute(
            delete(RoleAssociation).where(
                RoleAssociation.user_id == user.user_id, RoleAssociation.client_id.in_(owned)
            )
        )
    return {"errorMessage": f"Successfully offboarded user {user.user_id}", "errorCode": 0}

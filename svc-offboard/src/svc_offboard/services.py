"""svc-offboard logic: plain functions over a Session, returning models and the records below.

The response schemas (schemas.py) dump what the functions return in the
product's shape. Business failures raise ``errors.Failure(message)``; each
view answers it in its endpoint's failure envelope. The functions never commit:
a writing view runs them in ``db.unit_of_work()``, which commits when they
return and rolls back when they raise.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
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
HEX = re.compile(r"[0-9a-fA-F]+")
VIRTUAL_SERVER = "Virtual Server"
# The CommServe's own CommCell id, as the product numbers it.
COMMCELL_ID = 2
# activityType values of clientActivityControl.
ACTIVITY_BACKUP, ACTIVITY_RESTORE, ACTIVITY_DATA_AGING = 1, 2, 16
CREATE_USER_LOCK = 0x0FF_B0A2D  # advisory lock key serialising new userIds on PostgreSQL


@dataclass(frozen=True)
class Outcome:
    """What a request did, as its errorCode (0: done), a message and the user it concerned (where it has them)."""

    message: str | None = None
    user: User | None = None
    code: int = 0


@dataclass(frozen=True)
class SignedIn:
    """A token just issued, and its user."""

    token: str
    user: User

    @property
    def alias_name(self) -> str:
        """The user's alias: its userId, as text."""
        return str(self.user.user_id)


@dataclass(frozen=True)
class UserGroup:
    """A user group (``master`` is the only one)."""

    id: int
    name: str


MASTER_GROUP = UserGroup(1, MASTER_GROUP_NAME)


@dataclass(frozen=True)
class Association:
    """Clients on which a user holds a role."""

    clients: list[Client]
    role: Role


@dataclass(frozen=True)
class UserProperties:
    """A user; its groups and role associations where the answer lists them (None: not listed)."""

    user: User
    groups: list[UserGroup] | None = None
    associations: list[Association] | None = None


@dataclass(frozen=True)
class CommServe:
    """The CommServe this web service fronts."""

    name: str
    host_name: str
    time_zone_name: str
    commcell_id: int = COMMCELL_ID

    @property
    def guid(self) -> str:
        """A GUID stable for the host name."""
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, self.host_name)).upper()


@dataclass(frozen=True)
class Activity:
    """Whether a client runs one kind of activity (``activityType``)."""

    activity_type: int
    enabled: bool


@dataclass(frozen=True)
class ClientDetails:
    """What GET Client/{id} adds to a client: its owners, whether it backs up, and its hypervisor if a VM."""

    owners: list[User]
    backing_up: bool
    hypervisor: Client | None

    @property
    def owner_names(self) -> str:
        """The owners' names joined by ``,``."""
        return ",".join(owner.user_name for owner in self.owners)

    @property
    def activities(self) -> list[Activity]:
        """Backup as the subclients' switches say; restores and data aging are not modelled, so they run."""
        return [
            Activity(ACTIVITY_BACKUP, self.backing_up),
            Activity(ACTIVITY_RESTORE, True),
            Activity(ACTIVITY_DATA_AGING, True),
        ]


@dataclass(frozen=True)
class ClientProperties:
    """A client; with ``details``, answered in full (GET Client/{id})."""

    client: Client
    details: ClientDetails | None = None

    @property
    def in_full(self) -> Client | None:
        """The client when it is answered in full, else None."""
        return self.client if self.details is not None else None

    @property
    def as_vm(self) -> ClientProperties | None:
        """These properties when they are a VM client's answered in full, else None."""
        return self if self.details is not None and self.details.hypervisor is not None else None


@dataclass(frozen=True)
class SubclientProperties:
    """A subclient, its client and its plan (None: no plan)."""

    subclient: Subclient
    client: Client
    plan: Plan | None


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


def login(session: Session, username: str, password: str, timeout_minutes: int) -> SignedIn:
    """Check the credentials and issue a token; Failure when they do not match."""
    user = find_user_by_name(session, username)
    # Verify even for unknown or disabled users, so that refusals all take the same time.
    matches = verify_secret(user.password_hash if user else None, password)
    if user is None or not matches or not user.enable_user:
        raise Failure(INVALID_CREDENTIALS)
    return SignedIn(_issue_token(session, user, timeout_minutes), user)


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


def renew_token(session: Session, presented: str | None, renewal_hours: int) -> SignedIn:
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
    return SignedIn(_issue_token(session, user, token.timeout_minutes), user)


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


def logout(session: Session, digest: str) -> Outcome:
    """Revoke the presented token."""
    session.execute(delete(Token).where(Token.token_hash == digest))
    return Outcome("User logged out")


# --- users -------------------------------------------------------------------------------


def list_users(session: Session) -> list[UserProperties]:
    """The users by userId (GET User, GET v4/user)."""
    return [UserProperties(user) for user in session.scalars(select(User).order_by(User.user_id))]


def get_user(session: Session, user_id: int) -> list[UserProperties]:
    """One user with its user groups and role associations (GET User/{id})."""
    user = _existing_user(session, user_id)
    return [UserProperties(user, _groups(user), _role_associations(session, user))]


def _groups(user: User) -> list[UserGroup]:
    """The user groups ``user`` belongs to."""
    return [MASTER_GROUP] if user.is_master else []


def _role_associations(session: Session, user: User) -> list[Association]:
    """The user's role associations, one per (client, role), by clientId then roleId."""
    rows = session.execute(
        select(Client, Role)
        .join(RoleAssociation, RoleAssociation.client_id == Client.client_id)
        .join(Role, Role.role_id == RoleAssociation.role_id)
        .where(RoleAssociation.user_id == user.user_id)
        .order_by(Client.client_id, Role.role_id)
    )
    return [Association([client], role) for client, role in rows]


def _existing_user(session: Session, user_id: int, *, for_update: bool = False) -> User:
    """The user ``user_id`` (locked for the transaction when asked); Failure when there is none."""
    user = find_user_by_id(session, user_id, for_update=for_update)
    if user is None:
        raise Failure(f"User [{user_id}] does not exist.")
    return user


def user_security(session: Session, user_id: int) -> list[Association]:
    """The user's role associations (GET User/{id}/Security)."""
    return _role_associations(session, _existing_user(session, user_id))


def get_user_and_groups(session: Session, user_id: int) -> UserProperties:
    """One user with its user groups (GET v4/user/{id})."""
    user = _existing_user(session, user_id)
    return UserProperties(user, _groups(user))


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
) -> list[Outcome]:
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
    return [Outcome(f"Deleted user {user.user_name}", user)]


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


def create_user(session: Session, body: dict[str, Any]) -> list[Outcome]:
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
    return [Outcome(user=user)]


def _serialise_user_creation(session: Session) -> None:
    """Take the user-creation lock for this transaction (SQLite's BEGIN IMMEDIATE already serialises)."""
    if not is_sqlite(session.get_bind()):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CREATE_USER_LOCK})


# --- clients -----------------------------------------------------------------------------


def list_clients(session: Session) -> list[ClientProperties]:
    """The clients by clientId, VM clients included (GET Client)."""
    return [ClientProperties(client) for client in session.scalars(select(Client).order_by(Client.client_id))]


def list_hypervisors(session: Session) -> list[Client]:
    """The virtualization (VSPseudo) clients: Virtual Server clients that are not VMs themselves."""
    return list(
        session.scalars(
            select(Client)
            .where(Client.app_name == VIRTUAL_SERVER, Client.pseudo_client_id.is_(None))
            .order_by(Client.client_id)
        )
    )


def list_access_nodes() -> list[Client]:
    """The VSA access nodes (proxies): this service models none, so the list is empty."""
    return []


def commserv_info(config: dict[str, Any]) -> CommServe:
    """The CommServe this web service fronts (GET CommServ), from the configuration."""
    return CommServe(config["COMMSERV_NAME"], config["COMMSERV_HOSTNAME"], config["COMMSERV_TIME_ZONE"])


def _client_or_fail(session: Session, client_id: int, *, for_update: bool = False) -> Client:
    client = None
    if 1 <= client_id <= MAX_ID:
        query = select(Client).where(Client.client_id == client_id)
        client = session.scalar(_locked(query) if for_update else query)
    if client is None:
        raise Failure(f"Client [{client_id}] does not exist.")
    return client


def get_client(session: Session, client_id: int) -> list[ClientProperties]:
    """One client: owners, activity, and its hypervisor for a VM client (GET Client/{id})."""
    client = _client_or_fail(session, client_id)
    owners = session.scalars(
        select(User)
        .join(ClientOwner, ClientOwner.user_id == User.user_id)
        .where(ClientOwner.client_id == client.client_id)
        .order_by(User.user_id)
    )
    # Backup switches live on the subclients; the client backs up while any of them does.
    backing_up = bool(
        session.scalar(
            select(func.count())
            .select_from(Subclient)
            .where(Subclient.client_id == client.client_id, Subclient.enable_backup.is_(True))
        )
    )
    hypervisor = session.get(Client, client.pseudo_client_id) if client.pseudo_client_id is not None else None
    return [ClientProperties(client, ClientDetails(list(owners), backing_up, hypervisor))]


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


def update_client_owners(session: Session, client_id: int, body: dict[str, Any]) -> list[Outcome]:
    """Replace (1), add to (2) or remove from (3) a client's owners.

    The product looks the client up before it checks the body, then looks up the owners.
    """
    client = _client_or_fail(session, client_id, for_update=True)
    fields = schemas.UpdateClientRequestSchema().check(body)
    owner_associations = _dig(
        fields, "clientProperties", "clientProps", "securityAssociations", "ownerAssociations"
    )
    if owner_associations is None:
        return [Outcome()]
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
    return [Outcome()]


def _dig(value: Any, *keys: str) -> Any:
    """``value[keys[0]][keys[1]]...``; None where a level is missing."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


# --- subclients --------------------------------------------------------------------------


def _subclient_rows(session: Session, *conditions: Any) -> list[SubclientProperties]:
    """The subclients matching ``conditions``, by subclientId, with their clients and plans."""
    rows = session.execute(
        select(Subclient, Client, Plan)
        .join(Client, Client.client_id == Subclient.client_id)
        .outerjoin(Plan, Plan.plan_id == Subclient.plan_id)
        .where(*conditions)
        .order_by(Subclient.subclient_id)
    )
    return [SubclientProperties(*row) for row in rows]


def list_subclients(session: Session, client_id_param: str | None) -> list[SubclientProperties]:
    """A client's subclients by subclientId (GET Subclient?clientId=)."""
    client_id = digit_string_value(client_id_param) if client_id_param is not None else None
    if not client_id:
        raise Failure("Invalid clientId.")
    client = _client_or_fail(session, client_id)
    return _subclient_rows(session, Subclient.client_id == client.client_id)


def get_subclient(session: Session, subclient_id: int) -> list[SubclientProperties]:
    """One subclient (GET Subclient/{id})."""
    rows = _subclient_rows(session, Subclient.subclient_id == subclient_id) if subclient_id <= MAX_ID else []
    if not rows:
        raise Failure(f"Subclient [{subclient_id}] does not exist.")
    return rows


def update_subclient(session: Session, subclient_id: int, body: dict[str, Any]) -> list[Outcome]:
    """Apply ``commonProperties.enableBackup``; nothing else is writable."""
    subclient = session.get(Subclient, subclient_id) if 1 <= subclient_id <= MAX_ID else None
    if subclient is None:
        raise Failure(f"Subclient [{subclient_id}] does not exist.")
    # The product looks the subclient up before it checks the body.
    fields = schemas.UpdateSubclientRequestSchema().check(body)
    enable_backup = _dig(fields, "subClientProperties", "commonProperties", "enableBackup")
    if enable_backup is not None:
        subclient.enable_backup = enable_backup
    return [Outcome()]


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


def offboard_user(session: Session, user_id: int | None, user_name: str | None) -> Outcome:
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
    return Outcome(f"Successfully offboarded user {user.user_id}")

"""svc-offboard demo data, loaded idempotently when DEMO_DATA=1."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from svc_offboard.models import Client, ClientOwner, Plan, Role, RoleAssociation, Subclient, User
from vendorkit.security import hash_secret

# Stable GUIDs, so that the demo looks the same on every machine.
GUID_NAMESPACE = uuid.UUID("6f1c2b9e-4d0a-4c1e-9a57-0ffb0a4d0002")

ADMIN_PASSWORD = "admin-demo"  # noqa: S105 - the documented demo credential

USERS = [
    # userId, userName, email, fullName, master, password
    (1, "admin", "admin@example.com", "Administrator", True, ADMIN_PASSWORD),
    (5, "kim", "kim@example.com", "Kim Park", False, None),
    (6, "jim", "jim@example.com", "Jim Stone", False, None),
]

ROLES = [(3, "Client Admins"), (4, "View")]

PLANS = [(1, "Laptop plan"), (2, "Server plan"), (3, "VM plan")]

FILE_SYSTEM = ("File System", "DefaultInstanceName")
VIRTUAL_SERVER = ("Virtual Server", "VMware")
VM_GUID_PREFIX = "564D0A21-0000-4000-8000-0000000000"

# Operating systems: type, subtype, name, processor (as the product's osInfo reports them).
WINDOWS_DESKTOP = ("Windows", "Client", "Windows 11 Enterprise", "WinX64")
WINDOWS_SERVER = ("Windows", "Server", "Windows Server 2022 Datacenter", "WinX64")
LINUX_SERVER = ("Unix", "Linux", "Red Hat Enterprise Linux 9.4", "x86_64")

CLIENTS = [
    # clientId, clientName, hypervisor clientId (VM clients), agent, operating system
    (11, "kim-laptop", None, FILE_SYSTEM, WINDOWS_DESKTOP),
    (12, "kim-ws01", None, FILE_SYSTEM, WINDOWS_DESKTOP),
    (13, "shared-fs01", None, FILE_SYSTEM, LINUX_SERVER),
    (20, "vcenter01", None, VIRTUAL_SERVER, LINUX_SERVER),
    (21, "kim-vm01", 20, VIRTUAL_SERVER, WINDOWS_SERVER),
    (22, "kim-vm02", 20, VIRTUAL_SERVER, LINUX_SERVER),
    (31, "sandbox-fs01", None, FILE_SYSTEM, LINUX_SERVER),
    (32, "sandbox-vm01", 20, VIRTUAL_SERVER, WINDOWS_SERVER),
]

OWNERS = [(11, 5), (12, 1), (12, 5), (13, 1), (20, 1), (21, 5), (22, 5)]

SUBCLIENTS = [
    # subclientId, clientId, subclientName, planId
    (101, 11, "default", 1),
    (102, 11, "documents", 1),
    (103, 12, "default", 2),
    (104, 13, "default", 2),
    (120, 20, "default", 3),
    (121, 21, "default", 3),
    (122, 22, "default", 3),
    (131, 31, "default", 2),
    (132, 31, "logs", 2),
    (133, 32, "default", 3),
]

ROLE_ASSOCIATIONS = [(5, 11, 3), (5, 12, 3), (5, 21, 3), (5, 22, 3), (5, 13, 4)]


def _guid(kind: str, key: object) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}")).upper()


def _add_missing(session: Session, model: type, key: object, **fields: Any) -> None:
    if session.get(model, key) is None:
        session.add(model(**fields))
        session.flush()


def load_demo_data(session: Session, config: dict[str, Any]) -> None:
    """Insert the demo records that are missing; never change existing ones."""
    for user_id, name, email, full_name, master, password in USERS:
        taken = session.scalar(select(User.user_id).where(User.name_key == name.lower()))
        if session.get(User, user_id) is None and taken is None:
            session.add(
                User(
                    user_id=user_id,
                    user_name=name,
                    name_key=name.lower(),
                    user_guid=_guid("user", user_id),
                    email=email,
                    full_name=full_name,
                    description="",
                    password_hash=hash_secret(password) if password else None,
                    enable_user=True,
                    is_master=master,
                )
            )
            session.flush()
    for role_id, role_name in ROLES:
        _add_missing(session, Role, role_id, role_id=role_id, role_name=role_name)
    for plan_id, plan_name in PLANS:
        _add_missing(session, Plan, plan_id, plan_id=plan_id, plan_name=plan_name)
    # Owners and role associations come with their client: once a client
    # exists they are live state (offboarding removes them), never restored.
    new_clients = set()
    for client_id, name, hypervisor, (app_name, instance_name), os_info in CLIENTS:
        if session.get(Client, client_id) is not None:
            continue
        session.add(
            Client(
                client_id=client_id,
                client_name=name,
                host_name=f"{name}.example.com",
                display_name=name,
                client_guid=_guid("client", client_id),
                app_name=app_name,
                instance_name=instance_name,
                backupset_name="defaultBackupSet",
                vm_guid=f"{VM_GUID_PREFIX}{client_id:02d}" if hypervisor else None,
                pseudo_client_id=hypervisor,
                os_type=os_info[0],
                os_subtype=os_info[1],
                os_name=os_info[2],
                processor_type=os_info[3],
            )
        )
        session.flush()
        new_clients.add(client_id)
    for client_id, user_id in OWNERS:
        if client_id in new_clients:
            session.add(ClientOwner(client_id=client_id, user_id=user_id))
    for user_id, client_id, role_id in ROLE_ASSOCIATIONS:
        if client_id in new_clients:
            session.add(RoleAssociation(user_id=user_id, client_id=client_id, role_id=role_id))
    session.flush()
    for subclient_id, client_id, name, plan_id in SUBCLIENTS:
        _add_missing(
            session,
            Subclient,
            subclient_id,
            subclient_id=subclient_id,
            client_id=client_id,
            subclient_name=name,
            plan_id=plan_id,
            enable_backup=True,
            is_default=name == "default",
        )

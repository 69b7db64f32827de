"""Registration and invitation mail: a real SMTP client, and every mail recorded in the outbox."""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy.orm import Session

from svc_emm.models import OutboxMessage

log = logging.getLogger("svc_emm.mail")

REGISTRATION = "user-registration"
INVITATION = "enrolment-invitation"
REGISTRATION_SUBJECT = "You have successfully been registered in WSO2 EMM"
INVITATION_SUBJECT = "You have been invited to enroll your device in WSO2 EMM"

SENT, STORED, FAILED = "SENT", "STORED", "FAILED"


@dataclass
class Mail:
    """One mail to one user."""

    type: str
    username: str
    recipient: str
    subject: str
    body: str
    properties: dict[str, str]
    status: str = ""  # set by deliver(); empty while not attempted


def _greeting(first_name: str) -> str:
    return f"Hi {first_name}," if first_name else "Hi,"


def registration_mail(username: str, first_name: str | None, recipient: str, password: str) -> Mail:
    """The mail telling a new user their username and generated password."""
    properties = {
        "username": username,
        "domain-name": "",
        "first-name": first_name or "",
        "password": password,
    }
    body = (
        f"{_greeting(first_name or '')}\n\n"
        "You have successfully been registered in WSO2 EMM.\n\n"
        f"Username: {username}\n"
        f"Password: {password}\n\n"
        "Please change this password after your first login.\n"
    )
    return Mail(REGISTRATION, username, recipient, REGISTRATION_SUBJECT, body, properties)


def invitation_mail(username: str, first_name: str | None, recipient: str) -> Mail:
    """The mail inviting a user to enrol their device."""
    properties = {"username": username, "first-name": first_name or ""}
    body = (
        f"{_greeting(first_name or '')}\n\n"
        "You have been invited to enroll your device in WSO2 EMM.\n"
        "Download the EMM agent on your device and sign in with\n\n"
        f"Username: {username}\n"
    )
    return Mail(INVITATION, username, recipient, INVITATION_SUBJECT, body, properties)


def _connect(config: dict[str, Any]) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_HOST"], int(config["MAIL_PORT"]), float(config["MAIL_TIMEOUT"])
    if config["MAIL_USE_SSL"]:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"] and config["MAIL_PASSWORD"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


def _message(config: dict[str, Any], mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="emm.localhost")
    message.set_content(mail.body)
    return message


def deliver(config: dict[str, Any], mails: list[Mail]) -> bool:
    """Hand ``mails`` to the SMTP server in order, setting each one's status; False at the first failure.

    Without ``MAIL_HOST`` the outbox is the only delivery and every mail is STORED.
    Mails after a failed one are not attempted and keep an empty status.
    """
    if not config["MAIL_HOST"]:
        for mail in mails:
            mail.status = STORED
        return True
    if not mails:
        return True
    try:
        smtp = _connect(config)
    except (smtplib.SMTPException, OSError) as error:
        log.error("SMTP connection to %s failed: %s", config["MAIL_HOST"], error)
        mails[0].status = FAILED
        return False
    current = mails[0]
    try:
        for current in mails:
            smtp.send_message(_message(config, current))
            current.status = SENT
        return True
    except (smtplib.SMTPException, OSError) as error:
        log.error("SMTP delivery of %s to %s failed: %s", current.type, current.recipient, error)
        current.status = FAILED
        return False
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()


def record(session: Session, mails: list[Mail]) -> None:
    """Add outbox rows for the attempted ``mails`` (the caller commits)."""
    now = int(time.time() * 1000)
    for mail in mails:
        if not mail.status:
            continue
        session.add(
            OutboxMessage(
                type=mail.type,
                username=mail.username,
                recipient=mail.recipient,
                subject=mail.subject,
                body=mail.body,
                properties=json.dumps(mail.properties),
                status=mail.status,
                created_at=now,
            )
        )

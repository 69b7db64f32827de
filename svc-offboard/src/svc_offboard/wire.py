"""Commvault's response rendering: JSON, or XML under the endpoint's root element, by ``Accept``."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from vendorkit.dialects import commvault

GENERIC_ROOT = "App_GenericResp"
LOGIN_ROOT = "DM2ContentIndexing_CheckCredentialResp"
USERS_ROOT = "App_GetUserPropertiesResponse"
CLIENTS_ROOT = "App_GetClientPropertiesResponse"
SUBCLIENTS_ROOT = "App_GetSubClientPropertiesResponse"
RESPONSE_LIST_ROOT = "App_GenericResponse"
WHO_AM_I_ROOT = "CvEntities_ProcessingInstructionInfo"
RENEW_ROOT = "App_RenewLoginTokenResp"
COMMSERV_ROOT = "App_GetCommServInfoResp"
SECURITY_ROOT = "App_SecurityAssociationsResp"
V4_USERS_ROOT = "App_V4UsersResp"
V4_USER_ROOT = "App_V4UserResp"
ACCESS_NODES_ROOT = "App_VSAClientAndClientGroupListResp"


def render(status: int, payload: dict[str, Any], xml_root: str = GENERIC_ROOT) -> Response:
    """``payload`` as JSON or as XML under ``xml_root``, whichever the client accepts."""
    return commvault.render(status, payload, request, xml_root=xml_root)


def generic(status: int, code: int, message: str) -> Response:
    """The generic envelope ``{"errorCode", "errorMessage"}`` with HTTP ``status``."""
    return render(status, {"errorCode": code, "errorMessage": message})


def respond(payload: dict[str, Any], xml_root: str = GENERIC_ROOT) -> Response:
    """HTTP 200 with ``payload`` as JSON or as XML under ``xml_root``."""
    return render(200, payload, xml_root)


def failure(message: str) -> Response:
    """A business failure in the generic envelope (HTTP 200, errorCode 2)."""
    return respond({"errorCode": 2, "errorMessage": message})


def response_list_failure(message: str) -> Response:
    """A business failure of a write endpoint: ``{"response": [{"errorCode": 2, "errorString"}]}``."""
    return respond({"response": [{"errorCode": 2, "errorString": message}]}, RESPONSE_LIST_ROOT)

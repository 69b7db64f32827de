"""One client per vendor, each usable on its own::

from svc_leaver.clients import Wso2Client
with Wso2Client("https://emm.example.com", "admin", password) as emm:
    outcome = emm.remove("kim")
"""

from svc_leaver.clients.aktion import AktionClient
from svc_leaver.clients.base import Answer, Observer, Outcome, VendorClient
from svc_leaver.clients.commvault import CommvaultClient
from svc_leaver.clients.dnl import DnlClient
from svc_leaver.clients.grommunio import GrommunioClient
from svc_leaver.clients.wso2 import Wso2Client

CLIENTS: dict[str, type[VendorClient]] = {
    "grommunio": GrommunioClient,
    "dnl": DnlClient,
    "commvault": CommvaultClient,
    "wso2": Wso2Client,
    "aktion": AktionClient,
}

__all__ = [
    "CLIENTS",
    "AktionClient",
    "Answer",
    "CommvaultClient",
    "DnlClient",
    "GrommunioClient",
    "Observer",
    "Outcome",
    "VendorClient",
    "Wso2Client",
]

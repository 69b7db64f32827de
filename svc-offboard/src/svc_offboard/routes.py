"""svc-offboard HTTP endpoints (thin views over services.py)."""

from flask_smorest import Blueprint

blp = Blueprint("offboard", __name__, description="Commvault web service (users, clients, offboarding)")

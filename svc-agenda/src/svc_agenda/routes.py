"""svc-agenda HTTP endpoints (thin views over services.py)."""

from flask_smorest import Blueprint

blp = Blueprint("agenda", __name__, description="AKTION.NEXT web API (users)")

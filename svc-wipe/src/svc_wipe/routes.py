"""svc-wipe HTTP endpoints (thin views over services.py)."""

from flask_smorest import Blueprint

blp = Blueprint("wipe", __name__, description="grommunio admin API (subset)")

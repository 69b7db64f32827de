"""svc-bulkuser HTTP endpoints (thin views over services.py)."""

from flask_smorest import Blueprint

blp = Blueprint("bulkuser", __name__, description="DNL softswitch API v1 (users)")

"""svc-emm HTTP endpoints (thin views over services.py)."""

from flask_smorest import Blueprint

blp = Blueprint("emm", __name__, description="WSO2 EMM 2.0 admin API (users)")

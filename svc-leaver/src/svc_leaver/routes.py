"""svc-leaver HTTP endpoints (thin views over services.py); every one needs the API token."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from svc_leaver import audit, services
from svc_leaver.auth import API_CLIENT
from svc_leaver.errors import invalid
from svc_leaver.schemas import (
    AuditListSchema,
    RunListQuerySchema,
    RunListSchema,
    RunRequestSchema,
    RunSchema,
    VerifySchema,
    load,
    parse_idempotency_key,
    parse_json_object,
)
from vendorkit import db
from vendorkit.dialects import json_response
from vendorkit.endpoints import declare

blp = Blueprint("leaver", __name__, description="Offboard one person from all five vendors")

PREFIX = "/leaver/v1"
QUEUE_KEY = "svc_leaver.queue"
IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def queue():
    return current_app.extensions[QUEUE_KEY]


def run_location(run_id: str) -> dict[str, str]:
    return {"Location": f"{PREFIX}/runs/{run_id}"}


@blp.route(f"{PREFIX}/runs")
class Runs(MethodView):
    @blp.doc(
        parameters=[IDEMPOTENCY_HEADER],
        requestBody={"content": {"application/json": {"schema": RunRequestSchema}}},
    )
    @blp.alt_response(202, schema=RunSchema, description="The run, started")
    @blp.alt_response(200, schema=RunSchema, description="The run an earlier request with this key created")
    @declare(API_CLIENT)
    def post(self):
        """Start a run that offboards one person from the named targets (or only looks, with dry_run)."""
        key = parse_idempotency_key(request.headers.get("Idempotency-Key"))
        body = parse_json_object(request.get_data())
        data = load(RunRequestSchema(), body)
        session = db.session()
        run, created = services.create_run(
            session, data, current_app.config["LEAVER"], idempotency_key=key, body=body
        )
        if not created:
            return json_response(200, services.run_view(run), run_location(run.id))
        queue().enqueue(run.id, [target.name for target in run.targets])
        return json_response(202, services.run_view(run), run_location(run.id))

    @blp.doc(parameters=[{"in": "query", "schema": RunListQuerySchema}])
    @blp.alt_response(200, schema=RunListSchema, description="Runs, newest first")
    @declare(API_CLIENT)
    def get(self):
        """Runs, newest first, filtered by person and status."""
        repeated = {
            name: "May not be repeated." for name in request.args if len(request.args.getlist(name)) > 1
        }
        if repeated:
            raise invalid(repeated)
        query = load(RunListQuerySchema(), request.args.to_dict())
        runs = services.list_runs(
            db.session(), person=query.get("person"), status=query.get("status"), limit=query["limit"]
        )
        return json_response(200, {"runs": [services.run_view(run) for run in runs]})


@blp.route(f"{PREFIX}/runs/<run_id>")
class RunDetail(MethodView):
    @blp.alt_response(200, schema=RunSchema, description="The run")
    @declare(API_CLIENT)
    def get(self, run_id: str):
        """One run with each target's progress."""
        return json_response(200, services.run_view(services.get_run(db.session(), run_id)))


@blp.route(f"{PREFIX}/runs/<run_id>/retry")
class RunRetry(MethodView):
    @blp.alt_response(202, schema=RunSchema, description="The run, running its failed targets again")
    @declare(API_CLIENT)
    def post(self, run_id: str):
        """Run the failed targets of a finished run again."""
        run = services.retry_run(db.session(), run_id, queue().enqueue)
        return json_response(202, services.run_view(run), run_location(run.id))


@blp.route(f"{PREFIX}/runs/<run_id>/audit")
class RunAudit(MethodView):
    @blp.alt_response(200, schema=AuditListSchema, description="The run's audit events")
    @declare(API_CLIENT)
    def get(self, run_id: str):
        """The run's audit events in seq order."""
        session = db.session()
        services.get_run(session, run_id)
        return json_response(200, {"events": audit.events_of_run(session, run_id)})


@blp.route(f"{PREFIX}/audit/verify")
class AuditVerify(MethodView):
    @blp.alt_response(200, schema=VerifySchema, description="Whether the chain is intact")
    @declare(API_CLIENT)
    def get(self):
        """Check the whole audit hash chain."""
        return json_response(200, audit.verify(db.session()))

"""The emulator's admin API under /_gateway/: the request journal, faults, and resetting or restoring the services.

These paths are the gateway's own: never rate limited, journaled or faulted.
Every answer is JSON; an error is ``{"message": ...}``, and a 400 names the
field that is wrong.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import urllib.parse
from typing import TYPE_CHECKING, Any

from gateway.faults import FaultError, parse_fault
from gateway.journal import FilterError, Journal, parse_filters
from gateway.ratelimit import StorageUnavailable
from gateway.state import LocalState, StateUnavailable, state_for
from vendorkit.netaddr import in_networks, parse_address

if TYPE_CHECKING:
    from gateway.app import Gateway, GatewayRequest, Reply, RouteRuntime

log = logging.getLogger("gateway.admin")

ADMIN_PATHS = ("/_gateway/requests", "/_gateway/faults", "/_gateway/reset", "/_gateway/state")
# Resetting or restoring a service rewrites its whole database: allow it more than a probe.
SERVICE_ADMIN_TIMEOUT = 30.0


def is_admin_path(path: str) -> bool:
    """Whether ``path`` is one of the emulator's admin paths."""
    return any(path == base or path.startswith(base + "/") for base in ADMIN_PATHS)


class BadRequest(Exception):
    """A 400: the message names the field."""


def _json(status: int, payload: Any = None, headers: list[tuple[str, str]] | None = None) -> Reply:
    # Imported here: gateway.app builds the Emulator, so it imports this module first.
    from gateway.app import Reply, json_reply

    if payload is None:
        return Reply(status, [*(headers or []), ("Content-Length", "0")], b"")
    return json_reply(status, payload, headers)


def _message(status: int, message: str, **extra: Any) -> Reply:
    return _json(status, {"message": message, **extra})


def _not_allowed(allowed: str) -> Reply:
    return _json(405, {"message": "Method not allowed"}, [("Allow", allowed)])


def _document(request: GatewayRequest, *, optional: bool = False) -> Any:
    if request.body is None:
        raise BadRequest("(body): too large")
    if not request.body.strip():
        if optional:
            return None
        raise BadRequest("(body): a JSON document is required")
    try:
        return json.loads(request.body)
    except ValueError:
        raise BadRequest("(body): not valid JSON") from None


class Emulator:
    """The journal and faults of one gateway, and its admin endpoints.

    ``state`` is where they live (gateway.state): this process, or, shared by
    several workers or replicas, Redis or the state keeper. ``journal`` is the
    journal the request path appends to directly when it lives in this process;
    with a shared state it is off, and ``shared_journal`` says that entries go
    to ``state.add`` before the reply goes out.
    """

    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.config = gateway.config.admin
        self.state = state_for(gateway.config)
        if isinstance(self.state, LocalState):
            self.journal = self.state.journal
            self.shared_journal = False
        else:
            self.journal = Journal(0, gateway.config.journal.max_body_bytes)
            self.shared_journal = gateway.config.journal.capacity > 0
            if hasattr(self.state, "catch_up"):
                gateway.limiter.resets = self.state
        self._read_timeouts = {name: rt.route.timeouts.read for name, rt in gateway.routes.items()}

    # -- who may use it ---------------------------------------------------------

    def _refusal(self, request: GatewayRequest, client: str) -> Reply | None:
        if not self.config.enabled:
            return _message(404, f"No route for {request.path}")
        try:
            allowed = in_networks(parse_address(client), self.config.allow)
        except ValueError:
            allowed = False
        if not allowed:
            return _message(403, "Admin access not allowed from this address")
        token = self.config.token
        if token is not None:
            sent = request.header("authorization") or ""
            scheme, _, value = sent.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
                return _json(401, {"message": "Admin token required"}, [("WWW-Authenticate", "Bearer")])
        return None

    async def respond(self, request: GatewayRequest, client: str) -> Reply:
        """Answer one request to an admin path."""
        refused = self._refusal(request, client)
        if refused is not None:
            return refused
        try:
            return await self._dispatch(request)
        except BadRequest as exc:
            return _message(400, str(exc))
        except StateUnavailable as exc:
            log.warning("emulator state unavailable: %s", exc)
            return _message(503, "The emulator's shared state is unavailable; try again shortly")

    async def _dispatch(self, request: GatewayRequest) -> Reply:
        path, method = request.path, request.method
        if path == "/_gateway/requests":
            if method in ("GET", "HEAD"):
                return await self.list_requests(request)
            if method == "DELETE":
                await self.state.clear_journal()
                return _json(204)
            return _not_allowed("GET, HEAD, DELETE")
        if path.startswith("/_gateway/requests/"):
            if method not in ("GET", "HEAD"):
                return _not_allowed("GET, HEAD")
            entry = await self.state.get(path.removeprefix("/_gateway/requests/"))
            return _json(200, entry) if entry else _message(404, "No such request in the journal")
        if path == "/_gateway/faults":
            if method in ("GET", "HEAD"):
                return _json(200, {"faults": await self.state.list_faults()})
            if method == "POST":
                try:
                    fields = parse_fault(_document(request), self._read_timeouts)
                except FaultError as exc:
                    raise BadRequest(str(exc)) from None
                return _json(201, await self.state.create_fault(fields))
            if method == "DELETE":
                await self.state.clear_faults()
                return _json(204)
            return _not_allowed("GET, HEAD, POST, DELETE")
        if path.startswith("/_gateway/faults/"):
            fault_id = path.removeprefix("/_gateway/faults/")
            if method in ("GET", "HEAD"):
                fault = await self.state.get_fault(fault_id)
                return _json(200, fault) if fault else _message(404, "No such fault")
            if method == "DELETE":
                removed = await self.state.remove_fault(fault_id)
                return _json(204) if removed else _message(404, "No such fault")
            return _not_allowed("GET, HEAD, DELETE")
        if path == "/_gateway/reset":
            if method != "POST":
                return _not_allowed("POST")
            return await self.reset(request)
        if path == "/_gateway/state":
            if method in ("GET", "HEAD"):
                return await self.get_state()
            if method == "PUT":
                return await self.put_state(request)
            return _not_allowed("GET, HEAD, PUT")
        return _message(404, f"No route for {path}")

    # -- journal ------------------------------------------------------------------

    async def list_requests(self, request: GatewayRequest) -> Reply:
        """``GET /_gateway/requests``: the newest entries matching the query's filters."""
        query = request.target.split("?", 1)[1] if "?" in request.target else ""
        try:
            args = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=False)
            filters = parse_filters(args)
        except (FilterError, ValueError) as exc:
            raise BadRequest(str(exc)) from None
        if filters.get("route") is not None and filters["route"] not in self.gateway.routes:
            raise BadRequest(f"route: expected one of {', '.join(self.gateway.routes)}")
        found = await self.state.find(filters)
        return _json(200, {"requests": found, "count": len(found)})

    # -- the services' own admin paths ---------------------------------------------

    def _route_names(self, document: Any, field: str) -> list[str]:
        if not isinstance(document, list) or not all(isinstance(n, str) for n in document):
            raise BadRequest(f"{field}: expected a list of route names")
        unknown = [n for n in document if n not in self.gateway.routes]
        if unknown:
            raise BadRequest(f"{field}: unknown route {unknown[0]!r}")
        return list(dict.fromkeys(document))

    async def _service(
        self, runtime: RouteRuntime, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, Any] | None:
        headers = [("Accept", "application/json")]
        if self.config.service_token:
            headers.append(("Authorization", f"Bearer {self.config.service_token}"))
        if body is not None:
            headers.append(("Content-Type", "application/json"))
        answer = await self.gateway.service_call(
            runtime, method, path, headers=headers, body=body, read_timeout=SERVICE_ADMIN_TIMEOUT
        )
        if answer is None:
            return None
        try:
            return answer.status, json.loads(answer.body) if answer.body else None
        except ValueError:
            return answer.status, None

    async def reset(self, request: GatewayRequest) -> Reply:
        """``POST /_gateway/reset``: reset the routes' services and forget their journal, faults and counters."""
        document = _document(request, optional=True)
        if document is None:
            names, scope = list(self.gateway.routes), None
        else:
            if not isinstance(document, dict) or set(document) - {"routes"}:
                raise BadRequest('(body): expected {"routes": [<route names>]}')
            names = self._route_names(document.get("routes", list(self.gateway.routes)), "routes")
            scope = set(names) if "routes" in document else None
        results = await asyncio.gather(
            *(self._service(self.gateway.routes[name], "POST", "/_admin/reset") for name in names)
        )
        await self.state.clear_journal(scope)
        await self.state.clear_faults(scope)
        try:
            await self.gateway.limiter.clear(scope)
        except StorageUnavailable as exc:
            log.warning("could not clear rate-limit counters: %s", exc)
            return _message(503, "The rate-limit storage is unavailable; counters were not cleared")
        await self.state.counters_cleared(scope)
        failed = [
            name for name, result in zip(names, results, strict=True) if result is None or result[0] != 200
        ]
        if failed:
            return _message(502, f"Could not reset: {', '.join(failed)}", failed=failed)
        return _json(200, {"reset": names})

    async def _states(self, names: list[str]) -> tuple[dict[str, Any], list[str]]:
        results = await asyncio.gather(
            *(self._service(self.gateway.routes[name], "GET", "/_admin/state") for name in names)
        )
        states, failed = {}, []
        for name, result in zip(names, results, strict=True):
            if result is None or result[0] != 200 or not isinstance(result[1], dict):
                failed.append(name)
            else:
                states[name] = result[1]
        return states, failed

    async def get_state(self) -> Reply:
        """``GET /_gateway/state``: every route's service state."""
        states, failed = await self._states(list(self.gateway.routes))
        if failed:
            return _message(502, f"Could not read the state of: {', '.join(failed)}", failed=failed)
        return _json(200, {"routes": states})

    async def put_state(self, request: GatewayRequest) -> Reply:
        """``PUT /_gateway/state``: restore every route the document names, or none of them."""
        document = _document(request)
        if (
            not isinstance(document, dict)
            or set(document) != {"routes"}
            or not isinstance(document["routes"], dict)
        ):
            raise BadRequest('(body): expected {"routes": {<route name>: <service state>}}')
        wanted: dict[str, Any] = document["routes"]
        names = self._route_names(list(wanted), "routes")
        current, failed = await self._states(names)
        if failed:
            return _message(502, f"Could not read the state of: {', '.join(failed)}", failed=failed)
        for name in names:
            state, now = wanted[name], current[name]
            if not isinstance(state, dict):
                raise BadRequest(f"routes.{name}: expected a service state object")
            for key in ("service", "schema"):
                if state.get(key) != now.get(key):
                    raise BadRequest(f"routes.{name}.{key}: expected {now.get(key)!r}")
        restored: list[str] = []
        for name in names:
            runtime = self.gateway.routes[name]
            result = await self._service(runtime, "PUT", "/_admin/state", json.dumps(wanted[name]).encode())
            if result is not None and result[0] == 200:
                restored.append(name)
                continue
            # Put back what was restored already, so that a refused document changes nothing.
            for done in restored:
                await self._service(
                    self.gateway.routes[done], "PUT", "/_admin/state", json.dumps(current[done]).encode()
                )
            if result is not None and result[0] == 400:
                detail = result[1].get("message") if isinstance(result[1], dict) else None
                raise BadRequest(f"routes.{name}: {detail or 'refused by the service'}")
            return _message(502, f"Could not restore: {name}", failed=[name])
        return _json(200, {"restored": restored})

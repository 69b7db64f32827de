"""The ``leaver`` command: start a run and follow it, show a run, verify the audit chain, run a queue worker.

Exit codes: 0 the run succeeded (or a dry run is planned); 1 partial or failed
(``show``: unknown run; ``verify``: chain broken); 2 bad usage; 3 the API
cannot be reached or refuses the request.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, TextIO

import httpx

from svc_leaver.config import TARGETS

DEFAULT_URL = "http://127.0.0.1:8080"
EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_API = 0, 1, 2, 3
POLL_SECONDS = 0.2


class ApiUnavailable(Exception):
    """The API could not be reached, or refused the request; the message says which."""


class Api:
    """A small client of svc-leaver's API (through the gateway's ``/leaver/`` route by default)."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0):
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def call(self, method: str, path: str, *, expect: tuple[int, ...], **kwargs) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"cannot reach {self.http.base_url}: {type(exc).__name__}") from None
        if response.status_code not in expect:
            raise ApiUnavailable(
                f"{method} {path} answered {response.status_code}: {_problem_text(response)}"
            )
        return response


def _problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "detail" in body:
        errors = body.get("errors")
        extra = "; ".join(f"{field}: {message}" for field, message in errors.items()) if errors else ""
        return f"{body['detail']}" + (f" ({extra})" if extra else "")
    return str(body)[:200]


def parse_accounts(values: list[str]) -> dict[str, str]:
    """``["commvault=kim", ...]`` as ``{"commvault": "kim"}``; ValueError for a malformed or repeated one."""
    accounts: dict[str, str] = {}
    for value in values:
        target, sep, account = value.partition("=")
        if not sep or not account:
            raise ValueError(f"--account {value!r}: expected TARGET=ACCOUNT")
        if target not in TARGETS:
            raise ValueError(f"--account {value!r}: unknown target (expected one of {', '.join(TARGETS)})")
        if target in accounts:
            raise ValueError(f"--account: target {target} given twice")
        accounts[target] = account
    return accounts


def render_table(run: dict[str, Any]) -> str:
    """The run's targets as an aligned text table, with the run's status below."""
    rows = [("TARGET", "ACCOUNT", "STATUS", "ATTEMPTS", "DETAIL")]
    for name, target in run["targets"].items():
        rows.append(
            (name, target["account"], target["status"], str(target["attempts"]), target["detail"] or "")
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    lines.append(f"run {run['id']}: {run['status']}" + (" (dry run)" if run["dry_run"] else ""))
    return "\n".join(line.rstrip() for line in lines)


def follow(api: Api, run: dict[str, Any], out: TextIO) -> dict[str, Any]:
    """Print each target's status changes until the run finishes; the finished run."""
    seen: dict[str, tuple[str, int]] = {}
    started = time.monotonic()
    while True:
        for name, target in run["targets"].items():
            state = (target["status"], target["attempts"])
            if seen.get(name) != state:
                seen[name] = state
                elapsed = time.monotonic() - started
                detail = (
                    f"  {target['detail']}"
                    if target["detail"] and target["status"] not in ("pending", "running")
                    else ""
                )
                print(
                    f"[{elapsed:5.1f}s] {name:<10} {target['status']:<12} attempts={target['attempts']}{detail}",
                    file=out,
                )
        if run["finished"] is not None:
            return run
        time.sleep(POLL_SECONDS)
        run = api.call("GET", f"/leaver/v1/runs/{run['id']}", expect=(200,)).json()


def offboard(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    accounts = parse_accounts(args.account)
    body = {"person": args.person, "accounts": accounts, "dry_run": args.dry_run}
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else {}
    run = api.call("POST", "/leaver/v1/runs", expect=(200, 202), json=body, headers=headers).json()
    print(f"run {run['id']} for {run['person']}" + (" (dry run)" if run["dry_run"] else ""), file=out)
    run = follow(api, run, out)
    print(file=out)
    print(render_table(run), file=out)
    return EXIT_OK if run["status"] in ("succeeded", "planned") else EXIT_RUN_FAILED


def show(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    response = api.call("GET", f"/leaver/v1/runs/{args.run_id}", expect=(200, 404))
    if response.status_code == 404:
        print(f"no run with id {args.run_id}", file=sys.stderr)
        return EXIT_RUN_FAILED
    run = response.json()
    print(f"person {run['person']}, created {run['created']}, finished {run['finished'] or '-'}", file=out)
    print(render_table(run), file=out)
    return EXIT_OK


def verify(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    result = api.call("GET", "/leaver/v1/audit/verify", expect=(200,)).json()
    if result["valid"]:
        print(f"audit chain valid: {result['events']} events", file=out)
        return EXIT_OK
    print(f"audit chain BROKEN at seq {result['first_bad_seq']}", file=out)
    return EXIT_RUN_FAILED


def worker(args: argparse.Namespace) -> int:
    """Run a queue consumer in the foreground (for deployments with LEAVER_CONSUMER=none on the API)."""
    from svc_leaver import create_app
    from svc_leaver.routes import QUEUE_KEY

    # The app migrates the database and builds the queue; this process only consumes.
    app = create_app({"LEAVER_CONSUMER": "none"})
    queue = app.extensions[QUEUE_KEY]
    queue.recover()
    queue.consumer(in_process=False).run()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leaver", description="Offboard a person from all five vendors.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("offboard", help="start a run and follow its progress")
    start.add_argument("--person", required=True, help="your label for the person, e.g. an employee id")
    start.add_argument(
        "--account", action="append", required=True, metavar="TARGET=ACCOUNT", help="repeat once per target"
    )
    start.add_argument("--dry-run", action="store_true", help="only look the accounts up")
    start.add_argument("--idempotency-key", help="send again safely: the same key never starts a second run")
    one = commands.add_parser("show", help="print a run")
    one.add_argument("run_id")
    commands.add_parser("verify", help="check the audit log's hash chain")
    commands.add_parser("worker", help="run a task-queue consumer in the foreground")
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the ``leaver`` console script."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on bad usage
    if args.command == "worker":
        return worker(args)
    token = os.environ.get("LEAVER_API_TOKEN", "")
    if not token:
        print("leaver: set LEAVER_API_TOKEN to the API's token", file=sys.stderr)
        return EXIT_USAGE
    api = Api(os.environ.get("LEAVER_URL") or DEFAULT_URL, token)
    handlers = {"offboard": offboard, "show": show, "verify": verify}
    try:
        return handlers[args.command](api, args, out)
    except ValueError as exc:
        print(f"leaver: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ApiUnavailable as exc:
        print(f"leaver: {exc}", file=sys.stderr)
        return EXIT_API


if __name__ == "__main__":
    sys.exit(main())

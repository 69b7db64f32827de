"""svc-leaver: wall time of one run of five targets, against the same five removals scripted by hand.

    .venv/bin/python bench/leaver_bench.py              # 10 runs of five targets
    .venv/bin/python bench/leaver_bench.py --runs 20

The five vendor services and svc-leaver start here as in ``make run``: gunicorn
processes on SQLite files with the demo data, svc-leaver's queue on its own
database with the consumer in-process, the ``make run`` retry and timeout
values. Each round creates a fresh person at all five vendors, then:

- *svc-leaver*: the client's wall time from ``POST /leaver/v1/runs`` to the
  first ``GET`` showing the run finished (polled every 20 ms);
- *baseline*: a plain script doing the same work one vendor after another over
  one keep-alive connection each (every login and removal request svc-leaver
  sends, nothing else): the time a hand-written offboarding script needs.

Target: a run of five targets finishes in under 3 s. The ratio shows what the
durable, audited, concurrent run costs against the bare requests.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from svc_leaver.testing import Vendors
from vendorkit.testing import LEAVER_SECRETS, SERVICES, ServerProcess

TARGET_BUDGET_SECONDS = 3.0
AUTH = {"Authorization": "Bearer leaver-demo-token"}


def start_services(workdir: Path) -> dict[str, ServerProcess]:
    """The five vendor services, each a gunicorn process on its own SQLite file with the demo data."""
    processes = {}
    # svc-leaver is started by ``start_leaver``, with this benchmark's configuration.
    vendors = {name: package for name, package in SERVICES.items() if name != "leaver"}
    for name, package in vendors.items():
        processes[name] = ServerProcess(
            f"{package}:create_app()",
            env={"DATABASE_URL": f"sqlite:///{workdir / name}.db", "DEMO_DATA": "1", "LOG_LEVEL": "WARNING"},
            log_path=workdir / f"{name}.log",
        ).start()
    return processes


def start_leaver(workdir: Path, urls: dict[str, str]) -> ServerProcess:
    config = {
        "targets": {
            "grommunio": {
                "base_url": urls["wipe"] + "/api/v1",
                "username": "admin",
                "password_env": "LEAVER_GROMMUNIO_PASSWORD",
            },
            "dnl": {
                "base_url": urls["bulkuser"] + "/v1",
                "username": "admin",
                "password_env": "LEAVER_DNL_PASSWORD",
            },
            "commvault": {
                "base_url": urls["offboard"] + "/webconsole/api",
                "username": "admin",
                "password_env": "LEAVER_COMMVAULT_PASSWORD",
            },
            "wso2": {"base_url": urls["emm"], "username": "admin", "password_env": "LEAVER_WSO2_PASSWORD"},
            "aktion": {
                "base_url": urls["agenda"] + "/AktionNEXT/API",
                "username": "api",
                "api_key_env": "LEAVER_AKTION_API_KEY",
            },
        },
        "retry": {"attempts": 5, "base_delay_ms": 200, "max_delay_ms": 5000},
        "timeouts": {"connect": 2, "read": 30},
    }
    path = workdir / "leaver.yaml"
    path.write_text(yaml.safe_dump(config))
    return ServerProcess(
        "svc_leaver:create_app()",
        env={
            "DATABASE_URL": f"sqlite:///{workdir / 'leaver'}.db",
            "DEMO_DATA": "1",
            "LOG_LEVEL": "WARNING",
            "LEAVER_CONFIG": str(path),
            **LEAVER_SECRETS,
        },
        log_path=workdir / "leaver.log",
        workers=2,
    ).start()


def leaver_run(leaver: ServerProcess, accounts: dict[str, str]) -> tuple[float, str]:
    """Seconds from the POST to the run's end, and its final status."""
    with httpx.Client(base_url=leaver.url, headers=AUTH, timeout=30) as client:
        started = time.perf_counter()
        run = client.post("/leaver/v1/runs", json={"person": "bench", "accounts": accounts}).json()
        while run["finished"] is None:
            time.sleep(0.02)
            run = client.get(f"/leaver/v1/runs/{run['id']}").json()
        return time.perf_counter() - started, run["status"]


def baseline_run(urls: dict[str, str], accounts: dict[str, str]) -> float:
    """The same logins and removals, one vendor after the other, no queue, no audit."""
    started = time.perf_counter()
    with httpx.Client(timeout=30) as http:
        login = http.post(f"{urls['wipe']}/api/v1/login", data={"user": "admin", "pass": "admin-demo"}).json()
        wiped = http.post(
            f"{urls['wipe']}/api/v1/service/wipe/{accounts['grommunio']}",
            json={"status": 2, "password": "admin-demo"},
            headers={
                "Cookie": f"grommunioAuthJwt={login['grommunioAuthJwt']}",
                "X-Csrf-Token": login["csrf"],
            },
        )
        assert wiped.status_code == 201, wiped.text
    with httpx.Client(timeout=30) as http:
        token = http.post(
            f"{urls['bulkuser']}/v1/auth", json={"email_or_name": "admin", "password": "admin-demo"}
        ).json()
        deleted = http.delete(
            f"{urls['bulkuser']}/v1/user/all",
            params={"email": accounts["dnl"]},
            headers={"X-Auth-Token": token["payload"]["token"]},
        )
        assert deleted.json()["payload"]["deleted"] == 1, deleted.text
    with httpx.Client(timeout=30, headers={"Accept": "application/json"}) as http:
        password = base64.b64encode(b"admin-demo").decode()
        token = http.post(
            f"{urls['offboard']}/webconsole/api/Login", json={"username": "admin", "password": password}
        ).json()
        offboarded = http.post(
            f"{urls['offboard']}/webconsole/api/User/Offboard",
            json={"userName": accounts["commvault"]},
            headers={"Authtoken": token["token"]},
        )
        assert offboarded.json()["errorCode"] == 0, offboarded.text
    with httpx.Client(timeout=30) as http:
        token = http.post(
            f"{urls['emm']}/oauth2/token",
            data={"grant_type": "password", "username": "admin", "password": "admin-demo"},
        ).json()
        removed = http.delete(
            f"{urls['emm']}/mdm-admin/users",
            params={"username": accounts["wso2"]},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert removed.status_code == 200, removed.text
    with httpx.Client(timeout=30, headers={"Accept": "application/json"}) as http:
        token = http.post(
            f"{urls['agenda']}/AktionNEXT/API/login", json={"UserLogin": "api", "ApiKey": "api-demo-key"}
        ).json()
        removed = http.post(
            f"{urls['agenda']}/AktionNEXT/API/user/remove",
            params={"Token": token["Token"]},
            json={"LoginName": accounts["aktion"]},
        )
        assert removed.status_code == 200, removed.text
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="leaver-bench-"))
    services = start_services(workdir)
    urls = {name: process.url for name, process in services.items()}
    leaver = start_leaver(workdir, urls)
    vendors = Vendors(**urls)
    try:
        leaver_run(leaver, vendors.create_person(devices=2))  # warm-up: first logins, first queue poll
        baseline_run(urls, vendors.create_person(devices=2))
        leaver_times, baseline_times, statuses = [], [], set()
        for _ in range(args.runs):
            seconds, status = leaver_run(leaver, vendors.create_person(devices=2))
            leaver_times.append(seconds)
            statuses.add(status)
            baseline_times.append(baseline_run(urls, vendors.create_person(devices=2)))
    finally:
        leaver.stop()
        for process in services.values():
            process.stop()

    def row(label: str, times: list[float]) -> str:
        return f"{label:<34}{statistics.median(times):>9.3f}{max(times):>9.3f}"

    print(f"{args.runs} runs of five targets (grommunio, dnl, commvault, wso2, aktion); seconds")
    print(f"{'':<34}{'median':>9}{'max':>9}")
    print(row("svc-leaver (POST -> finished)", leaver_times))
    print(row("baseline (sequential script)", baseline_times))
    ratio = statistics.median(leaver_times) / statistics.median(baseline_times)
    print(f"ratio svc-leaver / baseline (median): {ratio:.2f}x")
    print(f"run statuses: {', '.join(sorted(statuses))}")
    within = max(leaver_times) < TARGET_BUDGET_SECONDS and statuses == {"succeeded"}
    print(
        f"target: every run succeeded in under {TARGET_BUDGET_SECONDS:g} s: {'met' if within else 'MISSED'}"
    )
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())

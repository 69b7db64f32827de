"""Prometheus metrics of svc-leaver, served at ``/metrics``."""

from prometheus_client import Counter, Histogram

RUNS_CREATED = Counter("leaver_runs_created_total", "Runs created", ["dry_run"])
RUNS_FINISHED = Counter("leaver_runs_finished_total", "Runs finished, by final status", ["status"])
VENDOR_REQUESTS = Counter("leaver_vendor_requests_total", "Requests sent to the vendors", ["target", "kind"])
RETRIES = Counter("leaver_retries_total", "Vendor requests scheduled for another try", ["target"])
TARGET_SECONDS = Histogram(
    "leaver_target_duration_seconds",
    "Time from claiming a target to its final status",
    ["target", "status"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)

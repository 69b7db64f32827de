"""Prometheus metrics of the gateway, added up over its worker processes."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """The gateway's counters and histogram.

    With PROMETHEUS_MULTIPROC_DIR set (the ``gateway`` command sets it when it
    runs several workers), every worker writes its samples there and
    /_gateway/metrics adds them up; otherwise the process counts alone.
    """

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = None if self.multiprocess else CollectorRegistry()
        # Labelled children by (route, status): looking them up is most of a sample's cost.
        self._children: dict[tuple[str, int], tuple] = {}
        registry = self.registry
        self.requests = Counter(
            "gateway_requests_total",
            "Requests answered, by route and status",
            ["route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "gateway_request_duration_seconds",
            "Time to answer, by route",
            ["route"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.ratelimit_refusals = Counter(
            "gateway_ratelimit_refusals_total",
            "Requests refused by a rate limit",
            ["route"],
            registry=registry,
        )
        self.ip_refusals = Counter(
            "gateway_ip_refusals_total", "Requests refused by an IP filter", ["route"], registry=registry
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors_total",
            "Failed upstream attempts, by kind (connect, timeout, protocol)",
            ["route", "kind"],
            registry=registry,
        )
        self.faults_injected = Counter(
            "gateway_faults_injected_total",
            "Requests a fault of the emulator applied to, by route and action",
            ["route", "action"],
            registry=registry,
        )
        self.storage_failures = Counter(
            "gateway_ratelimit_storage_failures_total",
            "Requests whose rate-limit counters could not be reached",
            registry=registry,
        )

    def observe(self, route: str, status: int, duration: float) -> None:
        """Count one answered request and its duration."""
        key = (route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(route, str(status)), self.duration.labels(route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(duration)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

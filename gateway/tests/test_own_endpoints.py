"""The gateway's own endpoints: health, readiness, metrics, docs."""

import re

from gwsupport import route

from vendorkit.testing import free_port


def test_healthz_answers_while_the_process_runs(make_gateway):
    _, client = make_gateway(route(upstreams=[f"http://127.0.0.1:{free_port()}"]))
    response = client.get("/_gateway/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_names_the_routes_whose_upstreams_are_not_ready(make_gateway, upstream):
    _, client = make_gateway(
        route("up", prefixes=["/up/"], upstreams=[upstream]),
        route("down", prefixes=["/down/"], upstreams=[f"http://127.0.0.1:{free_port()}"]),
    )
    response = client.get("/_gateway/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "failing": ["down"]}


def test_readyz_is_200_when_every_upstream_is_ready(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]))
    response = client.get("/_gateway/readyz")
    assert (response.status_code, response.json) == (200, {"status": "ready"})


def test_metrics_are_prometheus_text_with_every_family(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]))
    client.get("/api/v1/x")
    response = client.get("/_gateway/metrics")
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.get_data(as_text=True)
    for family in (
        "gateway_requests_total",
        "gateway_request_duration_seconds",
        "gateway_ratelimit_refusals_total",
        "gateway_ip_refusals_total",
        "gateway_upstream_errors_total",
        "gateway_ratelimit_storage_failures_total",
    ):
        assert f"# TYPE {family}" in text, family
    assert 'gateway_requests_total{route="wipe",status="200"} 1.0' in text
    assert 'gateway_request_duration_seconds_count{route="wipe"} 1.0' in text


def test_the_docs_page_lists_every_route_and_loads_nothing_from_elsewhere(make_gateway, upstream):
    _, client = make_gateway(
        route("wipe", prefixes=["/api/v1/"], upstreams=[upstream]),
        route("emm", prefixes=["/mdm-admin/"], dialect="wso2", upstreams=[upstream]),
    )
    page = client.get("/_gateway/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/_gateway/docs/specs/wipe.json" in html and "/_gateway/docs/specs/emm.json" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith(("/_gateway/docs/", "?")) for s in sources), sources
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        response = client.get(f"/_gateway/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.get_data()) > 1000, asset
    spec = client.get("/_gateway/docs/specs/emm.json")
    assert spec.json == {"openapi": "3.0.3", "info": {"title": "echo"}}
    assert client.get("/_gateway/docs/assets/../../etc/passwd").status_code == 404
    assert client.get("/_gateway/docs/specs/nope.json").status_code == 404

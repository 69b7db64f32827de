"""Routing by longest prefix and what the gateway adds to, keeps and drops from a request."""

import uuid

from gwsupport import route, serve


def test_longest_prefix_wins(make_gateway):
    with serve() as short, serve() as long:
        _, client = make_gateway(
            route("short", prefixes=["/api/"], upstreams=[short]),
            route("long", prefixes=["/api/v1/"], upstreams=[long]),
        )
        assert client.get("/api/v1/users").json["server"] == long.removeprefix("http://")
        assert client.get("/api/v2/users").json["server"] == short.removeprefix("http://")


def test_no_route_is_a_neutral_404(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]))
    response = client.get("/elsewhere/x")
    assert response.status_code == 404
    assert response.json == {"message": "No route for /elsewhere/x"}


def test_method_path_query_body_and_headers_are_forwarded_unchanged(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]))
    response = client.put(
        "/api/v1/service/wipe/a%2Fb?devices=x,y&devices=z",
        data=b'{"status": 2}',
        headers={"Content-Type": "application/json", "X-Custom": "kept", "Authorization": "Bearer t"},
    )
    echoed = response.json
    assert response.status_code == 200
    assert echoed["method"] == "PUT"
    assert echoed["raw_uri"] == "/api/v1/service/wipe/a%2Fb?devices=x,y&devices=z"
    assert echoed["body"] == '{"status": 2}'
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert echoed["headers"]["X-Custom"] == "kept"
    assert echoed["headers"]["Authorization"] == "Bearer t"
    assert response.headers["X-Upstream"] == "echo"


def test_hop_by_hop_headers_are_dropped_both_ways(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]))
    sent = client.get(
        "/api/v1/x",
        headers={
            "Connection": "keep-alive, X-Private-Hop",
            "Keep-Alive": "timeout=5",
            "X-Private-Hop": "secret",
            "TE": "trailers",
            "Trailer": "X-Checksum",
            "Upgrade": "websocket",
            "Proxy-Authorization": "Basic eDp5",
        },
    ).json["headers"]
    for name in (
        "Connection",
        "Keep-Alive",
        "X-Private-Hop",
        "Te",
        "Trailer",
        "Upgrade",
        "Proxy-Authorization",
    ):
        assert name not in sent, name

    received = client.get("/api/v1/hop")
    assert received.get_data() == b"hop"
    for name in ("Connection", "Keep-Alive", "X-Secret-Hop", "Proxy-Authenticate"):
        assert name not in received.headers, name


def test_forwarded_headers_describe_the_real_hop(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]), peer="198.51.100.7")
    headers = client.get(
        "/api/v1/x",
        headers={"Host": "api.example.com", "X-Forwarded-For": "203.0.113.1", "X-Forwarded-Proto": "https"},
    ).json["headers"]
    # The peer is appended, never replaced by what the client claims.
    assert headers["X-Forwarded-For"] == "203.0.113.1, 198.51.100.7"
    # An untrusted peer cannot choose the scheme either.
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Forwarded-Host"] == "api.example.com"


def test_a_trusted_proxy_keeps_its_forwarded_proto_and_host(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]), peer="127.0.0.1")
    headers = client.get(
        "/api/v1/x", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "edge.example.com"}
    ).json["headers"]
    assert headers["X-Forwarded-Proto"] == "https"
    assert headers["X-Forwarded-Host"] == "edge.example.com"
    assert headers["X-Forwarded-For"] == "127.0.0.1"


def test_a_well_formed_request_id_is_kept_end_to_end(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]))
    response = client.get("/api/v1/x", headers={"X-Request-ID": "job-42.retry_1"})
    assert response.headers["X-Request-ID"] == "job-42.retry_1"
    assert response.json["headers"]["X-Request-Id"] == "job-42.retry_1"


def test_a_malformed_request_id_is_replaced_by_a_uuid(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream]))
    for bad in ("has space", "x" * 129, "semi;colon", ""):
        response = client.get("/api/v1/x", headers={"X-Request-ID": bad})
        new_id = response.headers["X-Request-ID"]
        assert str(uuid.UUID(new_id)) == new_id
        assert response.json["headers"]["X-Request-Id"] == new_id


def test_refusals_carry_the_request_id_too(make_gateway):
    _, client = make_gateway(route(upstreams=["http://127.0.0.1:9"]))
    assert client.get("/api/v1/x", headers={"X-Request-ID": "abc"}).headers["X-Request-ID"] == "abc"


def test_a_route_restricted_to_some_methods_answers_405_in_its_dialect(make_gateway, upstream):
    _, client = make_gateway(route(upstreams=[upstream], methods=["GET", "POST"]))
    response = client.delete("/api/v1/x")
    assert response.status_code == 405
    assert response.json == {"message": "Method 'DELETE' not allowed on this endpoint"}
    assert response.headers["Allow"] == "GET, POST"

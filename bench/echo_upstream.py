"""The upstream of the gateway benchmark: a minimal WSGI app, so that the figures measure the proxies."""

BODY = b'{"status": "ok", "message": "hello from the upstream"}'


def app(environ, start_response):
    """Answer every request with the same small JSON body."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]

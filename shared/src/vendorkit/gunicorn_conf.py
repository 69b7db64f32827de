"""gunicorn settings from the environment: ``gunicorn -c python:vendorkit.gunicorn_conf ...``.

GUNICORN_WORKERS (default 2), GUNICORN_THREADS (8), GUNICORN_TIMEOUT (60),
GUNICORN_GRACEFUL_TIMEOUT (20), GUNICORN_KEEPALIVE (5), GUNICORN_BIND, and
GUNICORN_ACCESSLOG ("-" for stdout; unset keeps the app's own JSON request log only).
"""

import logging
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
# Long query strings are part of some vendors' APIs (DNL's user_id_in takes 500 ids).
limit_request_line = 8190
# gunicorn's control socket defaults to one path per user, which several
# servers on one host (make run, the tests) would fight over; nothing uses it.
control_socket_disable = True
# One JSON object per line; no query string, since some vendors carry tokens there.
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
)


class _WithoutQueryStrings(logging.Filter):
    """Cut the query string off every URI gunicorn logs ("Error handling request /x?Token=...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def on_starting(_server) -> None:
    """gunicorn hook: before the workers fork, keep query strings (tokens) out of the error log."""
    logging.getLogger("gunicorn.error").addFilter(_WithoutQueryStrings())

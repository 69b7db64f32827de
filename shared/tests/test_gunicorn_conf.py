"""gunicorn, where it still serves a service, logs no query string (AKTION carries its token there)."""

import importlib
import logging


def test_gunicorns_error_log_drops_query_strings(caplog):
    conf = importlib.import_module("vendorkit.gunicorn_conf")
    conf.on_starting(None)
    logger = logging.getLogger("gunicorn.error")
    with caplog.at_level(logging.ERROR, logger="gunicorn.error"):
        logger.error("Error handling request %s", "/AktionNEXT/API/user/get?Token=6f1c2b0e-secret")
    assert caplog.messages == ["Error handling request /AktionNEXT/API/user/get"]

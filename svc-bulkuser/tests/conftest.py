"""Fixtures of svc-bulkuser's in-process tests (Flask test client on SQLite)."""

import pytest

from svc_bulkuser import create_app


@pytest.fixture
def app(tmp_path):
    """A fresh app on its own SQLite file, with the demo data."""
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/test.db", "DEMO_DATA": True})


@pytest.fixture
def client(app):
    return app.test_client()

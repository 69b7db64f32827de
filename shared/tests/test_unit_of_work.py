"""One unit of work per request: the checks' reads and the view's writes commit together or not at all."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from vendorkit import db


@pytest.fixture
def app(tmp_path):
    app = Flask(__name__)
    app.config.update(DATABASE_URL=f"sqlite:///{tmp_path / 'unit.db'}", READ_ONLY_GETS=True)
    db.init_app(app)
    with db.engine(app).begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))
    return app


def notes(app: Flask) -> list[str]:
    with db.engine(app).connect() as connection:
        return list(connection.scalars(text("SELECT body FROM notes ORDER BY rowid")))


def test_the_block_commits_what_the_request_read_and_wrote(app):
    with app.test_request_context("/", method="POST"):
        db.session().execute(text("SELECT count(*) FROM notes"))  # a check's read opens the transaction
        with db.unit_of_work() as session:
            session.execute(text("INSERT INTO notes VALUES ('kept')"))
    assert notes(app) == ["kept"]


def test_a_failure_in_the_block_rolls_back_every_write_of_the_request(app):
    with app.test_request_context("/", method="DELETE"):
        db.session().execute(text("INSERT INTO notes VALUES ('by the check')"))
        with pytest.raises(RuntimeError), db.unit_of_work() as session:
            session.execute(text("INSERT INTO notes VALUES ('by the view')"))
            raise RuntimeError("refused half way")
    assert notes(app) == []


def test_a_get_request_becomes_a_writer_only_inside_the_block(app):
    with app.test_request_context("/", method="GET"):
        reader = db.session()
        assert reader.get_bind() is db.state(app).read_engine
        with db.unit_of_work() as session:
            assert session.get_bind() is db.engine(app)
            session.execute(text("INSERT INTO notes VALUES ('written by a GET')"))
    assert notes(app) == ["written by a GET"]

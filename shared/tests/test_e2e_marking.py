"""The e2e rule: a suite's tests are marked end-to-end by their folder or the fixtures they use."""

import textwrap

pytest_plugins = ["pytester"]

SUITE = """
import pytest


@pytest.fixture
def database(postgres):
    return postgres


def test_in_process():
    pass


def test_on_the_stack(stack):
    pass


def test_through_a_fixture_of_its_own(database):
    pass


def test_on_the_emulator(vendors):
    pass


@pytest.mark.e2e
def test_starting_a_process_in_its_body():
    pass


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.e2e)])
def test_on_either_backend(backend):
    pass
"""


def collected(pytester, marks: str) -> set[str]:
    """The node ids a collection of the suite keeps under ``-m marks``; nothing runs."""
    result = pytester.runpytest(
        "-p", "vendorkit.testing.fixtures", "-p", "no:cacheprovider", "--collect-only", "-q", "-m", marks
    )
    return {line for line in result.outlines if "::" in line}


def test_folder_fixtures_and_explicit_marks_decide_what_is_end_to_end(pytester):
    pytester.makepyfile(test_suite=SUITE)
    pytester.mkdir("e2e")
    (pytester.path / "e2e" / "test_processes.py").write_text(
        textwrap.dedent(
            """
            def test_anything_in_an_e2e_folder():
                pass
            """
        )
    )

    assert collected(pytester, "e2e") == {
        "e2e/test_processes.py::test_anything_in_an_e2e_folder",
        "test_suite.py::test_on_the_stack",
        "test_suite.py::test_through_a_fixture_of_its_own",
        "test_suite.py::test_on_the_emulator",
        "test_suite.py::test_starting_a_process_in_its_body",
        "test_suite.py::test_on_either_backend[postgresql]",
    }
    assert collected(pytester, "not e2e") == {
        "test_suite.py::test_in_process",
        "test_suite.py::test_on_either_backend[sqlite]",
    }

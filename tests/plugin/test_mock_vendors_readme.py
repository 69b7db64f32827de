"""The README's in-process example, run as the user's own suite it shows (through pytest's pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(first_line: str) -> str:
    """The README's Python code block that starts with ``first_line``."""
    text = README.read_text()
    start = text.index(f"```python\n{first_line}\n") + len("```python\n")
    return text[start : text.index("```", start)]


@pytest.fixture
def user_suite(pytester):
    pytester.makepyfile(
        client=readme_block("# client.py"),
        test_client_in_process=readme_block("# test_client_in_process.py"),
    )
    pytester.syspathinsert()
    return pytester


def test_the_readme_example_passes_in_process(user_suite):
    result = user_suite.runpytest("-p", "no:cacheprovider", "test_client_in_process.py")
    result.assert_outcomes(passed=5)

"""Write .env for docker-compose.yml from .env.example, filling every empty value with a fresh secret.

Usage (from the repository root): python3 deploy/compose/new-env.py [--output .env]
An existing file is never overwritten.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EMPTY_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=$")


def fill(example: str) -> str:
    """``example`` with every ``NAME=`` line given a random URL-safe value."""
    lines = []
    for line in example.splitlines():
        match = EMPTY_ASSIGNMENT.match(line)
        lines.append(f"{match.group(1)}={secrets.token_hex(32)}" if match else line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", type=Path, default=REPO_ROOT / ".env.example")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / ".env")
    args = parser.parse_args(argv)
    content = fill(args.example.read_text())
    try:
        # Created readable by its owner only, and never over an existing file.
        descriptor = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print(f"{args.output} exists; not overwriting it", file=sys.stderr)
        return 1
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

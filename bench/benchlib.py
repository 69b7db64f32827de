"""What the benchmarks share: the tools they need, wrk's figures, process trees and percentiles."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

# wrk prints latencies with their own unit; the benchmarks report milliseconds.
MILLISECONDS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def require(binary: str) -> str:
    """The path of ``binary`` (also looked for in /usr/sbin, where nginx lives); exit naming the packages if missing."""
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if not path:
        sys.exit(f"{binary} not found: apt-get install -y wrk nginx-light")
    return path


def wrk(
    url: str, duration: int, connections: int, *, threads: int = 2, extra: Sequence[str] = ()
) -> dict[str, float]:
    """wrk's figures for ``url``: ``rps``, latencies ``p50``/``p90``/``p99`` (ms), ``non_2xx`` and ``errors``.

    ``errors`` counts the non-2xx answers and the socket errors together;
    ``extra`` are more wrk arguments (a header, a script).
    """
    output = subprocess.run(
        [require("wrk"), f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", *extra, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percent in ("50", "90", "99"):
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        figures[f"p{percent}"] = float(match.group(1)) * MILLISECONDS[match.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    figures["non_2xx"] = float(non_2xx.group(1)) if non_2xx else 0.0
    figures["errors"] = figures["non_2xx"] + (
        sum(map(float, socket_errors.groups())) if socket_errors else 0.0
    )
    return figures


def children(pid: int) -> list[int]:
    """The processes ``pid`` started that still run (none once it has ended)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:  # the thread or the process ended meanwhile
            continue
    return found


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found = [pid]
    for child in children(pid):
        found.extend(descendants(child))
    return found


def percentile(samples: list[float], fraction: float) -> float:
    """The sample at ``fraction`` (0 to 1) of the sorted ``samples``, the nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

"""Drive one URL with wrk and read back its figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk_report.lua")
MARKER = "BENCH_JSON "


class LoadError(RuntimeError):
    pass


def wrk_path() -> str | None:
    return shutil.which("wrk")


def drive(
    url: str,
    *,
    concurrency: int,
    duration: float,
    cookies: list[str] = (),
    headers: dict[str, str] | None = None,
) -> dict:
    """Requests per second, latency percentiles (ms) and status counts for one URL."""
    wrk = wrk_path()
    if wrk is None:
        raise LoadError("wrk is not installed (Debian: apt-get install wrk)")
    # Two wrk threads on a small machine: more would only take CPU from the server.
    threads = max(1, min(concurrency, 2, os.cpu_count() or 1))
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={concurrency}",
        f"--duration={max(1, round(duration))}s",
        "--timeout=10s",
        "--latency",
        f"--script={SCRIPT}",
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    command += [url, "--", *cookies]
    finished = subprocess.run(  # noqa: S603 (our own argv, no shell)
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    lines = [line for line in finished.stdout.splitlines() if line.startswith(MARKER)]
    if finished.returncode != 0 or not lines:
        raise LoadError(f"wrk failed on {url}: {finished.stderr.strip() or finished.stdout}")
    figures = json.loads(lines[-1][len(MARKER) :])
    seconds = figures["duration_us"] / 1e6
    latency = figures["latency_us"]
    completed = figures["requests"] > 0

    def ms(name: str) -> float | None:
        # No request answered within the run: there is no latency to speak of, only "longer
        # than the run", which a 0 would hide.
        return round(latency[name] / 1000, 2) if completed else None

    return {
        "rps": round(figures["requests"] / seconds, 1) if seconds else 0.0,
        "requests": figures["requests"],
        "p50_ms": ms("p50"),
        "p90_ms": ms("p90"),
        "p95_ms": ms("p95"),
        "p99_ms": ms("p99"),
        "mean_ms": ms("mean"),
        "max_ms": ms("max"),
        "statuses": {str(code): count for code, count in sorted(figures["statuses"].items())},
        "errors": figures["errors"],
    }

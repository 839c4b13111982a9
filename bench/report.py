"""The benchmark's report: latest.json for machines, latest.md for people.

Targets are reported, not asserted: a benchmark on a shared CI machine is a measurement,
and a red cell is a reason to look (`--profile`), not a build to fail.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
from pathlib import Path

from bench.pages import HTMX_SUFFIX

# What each page should do at the headline concurrency (the first, 8 by default).
P95_MS = 50
# Right after a change (pages_cold): the page renders; p95 at most this, and the admin ratio.
COLD_P95_MS = 100
ADMIN_RATIO = 8
# While an editor commits a change every second (pages_while_editing): this share of the
# page's cached rps.
EDITING_SHARE = 0.8
FLOOR_RATIO = 0.1
MAX_QUERIES = 10
FRAGMENT_SHARE = 1 / 3
WORKER_RSS_MB = 150


def machine() -> dict:
    memory_kb = 0
    cpu = platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from django.db import connection

    return {
        "cores": os.cpu_count(),
        "memory_mb": memory_kb // 1024,
        "cpu": cpu,
        "python": platform.python_version(),
        "postgresql": "{}.{}".format(*divmod(connection.pg_version, 10000)),
    }


def ratio(value: float | None, reference: float | None, places: int = 2) -> float | None:
    if value is None or not reference:
        return None
    return round(value / reference, places)


def build(
    *,
    args,
    sizes,
    pages,
    missing,
    references,
    measured,
    load_figures,
    memory,
    digests,
    elapsed,
    cold_figures=None,
    editing_figures=None,
) -> dict:
    headline = args.concurrency[0]

    def figures(key: str, concurrency: int = headline) -> dict:
        return load_figures.get(key, {}).get(concurrency) or {}

    floor_rps = figures(references["floor"]).get("rps")
    admin_rps = figures(references["admin"]).get("rps")
    static_rps = figures(references["static"]).get("rps")

    entries = page_entries(pages, measured, load_figures, headline, floor_rps, admin_rps)
    editing_entries = None
    if editing_figures is not None:
        editing_entries = page_entries(
            pages, measured, editing_figures, headline, floor_rps, admin_rps
        )
        for key, entry in editing_entries.items():
            share = ratio(entry["rps"], entries[key]["rps"], 3)
            entry["share_of_cached"] = share
            entry["targets"] = {
                f"rps >= {EDITING_SHARE:.0%} of cached": _at_least(share, EDITING_SHARE)
            }
    cold_entries = None
    if cold_figures is not None:
        cold_entries = page_entries(
            pages, measured, cold_figures, headline, floor_rps, admin_rps, cold=True
        )

    return {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "seed": args.seed,
        "sizes": dataclasses.asdict(sizes),
        "machine": machine(),
        "server": {
            "page_cache": not args.no_page_cache,
            "workers": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads,
        },
        "load": {"tool": "wrk", "duration_s": args.duration, "concurrency": args.concurrency},
        "headline_concurrency": headline,
        "floor_rps": floor_rps,
        "admin_rps": admin_rps,
        "static_rps": static_rps,
        "references": {
            label: {
                "path": key,
                "status": measured.get(key, {}).get("http_status"),
                "queries": measured.get(key, {}).get("queries"),
                "bytes": measured.get(key, {}).get("bytes"),
                "concurrency": {str(c): found for c, found in load_figures.get(key, {}).items()},
            }
            for label, key in references.items()
        },
        "pages": entries,
        "pages_cold": cold_entries,
        "pages_while_editing": editing_entries,
        "missing_pages": missing,
        "worker_rss_mb": memory,
        "worker_rss_ok": _at_most(max(memory.values(), default=None), WORKER_RSS_MB - 0.001),
        "digests": digests,
        "elapsed_s": round(elapsed, 1),
    }


def page_entries(
    pages, measured, load_figures, headline, floor_rps, admin_rps, cold: bool = False
) -> dict:
    """Each page's figures and targets; `cold`: measured with the page cache off, where the
    targets are the admin ratio and COLD_P95_MS (the floor ratio is the cached pages')."""

    def figures(key: str, concurrency: int = headline) -> dict:
        return load_figures.get(key, {}).get(concurrency) or {}

    entries = {}
    for target in pages:
        seen = measured[target.key]
        head = figures(target.key)
        rps = head.get("rps")
        entry = {
            "path": target.path,
            "htmx": target.htmx,
            "status": seen.get("http_status"),
            "in_process_status": seen["status"],
            "queries": seen["queries"],
            "queries_cold": seen.get("queries_cold"),
            "bytes": seen["bytes"],
            "whole_document": seen["whole_document"],
            "rps": rps,
            "p50_ms": head.get("p50_ms"),
            "p95_ms": head.get("p95_ms"),
            "p99_ms": head.get("p99_ms"),
            "ratio_floor": ratio(rps, floor_rps, 3),
            "ratio_admin": ratio(rps, admin_rps),
            "wrk_statuses": head.get("statuses"),
            "concurrency": {str(c): found for c, found in load_figures.get(target.key, {}).items()},
        }
        if target.page_key:
            entry["page"] = target.page_key
            entry["fragment_share"] = ratio(seen["bytes"], measured[target.page_key]["bytes"], 3)
        slow = bool(head) and not head["requests"]  # not one answer within the run
        p95_limit = COLD_P95_MS if cold else P95_MS
        entry["targets"] = {
            f"p95 <= {p95_limit} ms": False if slow else _at_most(entry["p95_ms"], p95_limit),
            f"rps >= {ADMIN_RATIO}x admin": _at_least(entry["ratio_admin"], ADMIN_RATIO),
        }
        if not cold:
            entry["targets"][f"rps >= {FLOOR_RATIO}x floor"] = _at_least(
                entry["ratio_floor"], FLOOR_RATIO
            )
        entry["targets"] |= {
            f"queries <= {MAX_QUERIES}": _at_most(
                max(entry["queries"], entry["queries_cold"] or 0), MAX_QUERIES
            ),
        }
        if target.page_key:
            entry["targets"]["fragment <= 1/3 of page"] = _at_most(
                entry["fragment_share"], FRAGMENT_SHARE
            )
        entries[target.key] = entry

    return entries


def _at_most(value, limit) -> bool | None:
    return None if value is None else value <= limit


def _at_least(value, limit) -> bool | None:
    return None if value is None else value >= limit


# Writing --------------------------------------------------------------------------------------


def write(results: dict, directory: Path) -> list[Path]:
    """latest.json and latest.md; the last latest.json becomes previous.json first."""
    directory.mkdir(parents=True, exist_ok=True)
    latest, previous_path = directory / "latest.json", directory / "previous.json"
    previous = None
    if latest.exists():
        try:
            previous = json.loads(latest.read_text())
        except ValueError:
            previous = None
        latest.replace(previous_path)
    latest.write_text(json.dumps(results, indent=2) + "\n")
    markdown = directory / "latest.md"
    markdown.write_text(render(results, previous))
    return [latest, markdown]


def _number(value, places: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{places}f}"


def _verdict(checks: dict) -> str:
    failed = [name for name, passed in checks.items() if passed is False]
    unknown = [name for name, passed in checks.items() if passed is None]
    if failed:
        return "FAIL: " + "; ".join(failed)
    if unknown:
        return "n/a: " + "; ".join(unknown)
    return "pass"


def comparable(results: dict, previous: dict | None) -> bool:
    return bool(
        previous
        and previous.get("quick") == results["quick"]
        and previous.get("sizes") == results["sizes"]
        and previous.get("headline_concurrency") == results["headline_concurrency"]
        # A run from before the page cache existed counts as one with it on.
        and previous.get("server", {}).get("page_cache", True) == results["server"]["page_cache"]
    )


def render(results: dict, previous: dict | None) -> str:
    headline = results["headline_concurrency"]
    others = [c for c in results["load"]["concurrency"] if c != headline]
    machine_ = results["machine"]
    sizes = results["sizes"]
    compare = comparable(results, previous)
    lines = [
        f"# Benchmark: {'quick' if results['quick'] else 'full'} size, seed {results['seed']}",
        "",
        f"{results['generated_at']} · {machine_['cores']} cores, "
        f"{machine_['memory_mb'] / 1024:.1f} GiB, {machine_['cpu']} · "
        f"PostgreSQL {machine_['postgresql']} · gunicorn {results['server']['workers']} "
        f"{results['server']['worker_class']} workers · wrk {results['load']['duration_s']:g} s "
        f"per URL at {', '.join(map(str, results['load']['concurrency']))} connections · "
        f"{results['elapsed_s'] / 60:.1f} min in all. wrk, gunicorn and PostgreSQL share "
        "the machine. "
        + (
            "Page cache on: wrk repeats each URL, so after the first request a page is "
            "served from its cached parts, as readers get it between changes."
            if results["server"].get("page_cache", True)
            else "Page cache off (--no-page-cache): every request renders the page, as right "
            "after a change to the record."
        ),
        "",
        "Record: "
        + ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in sizes.items()),
        "",
    ]
    if previous and not compare:
        lines += ["Previous run was of another size or concurrency: no comparison.", ""]
    elif compare:
        lines += [f"Δ rps: against the previous run ({previous.get('generated_at')}).", ""]

    lines += ["## References", ""]
    header = ["reference", "path", "queries"]
    for c in results["load"]["concurrency"]:
        header += [f"rps c={c}", f"p95 ms c={c}"]
    lines += _table_header(header)
    for label, reference in results["references"].items():
        row = [label, f"`{reference['path']}`", _number(reference["queries"])]
        for c in results["load"]["concurrency"]:
            found = reference["concurrency"].get(str(c), {})
            row += [_number(found.get("rps")), _number(found.get("p95_ms"))]
        lines.append("| " + " | ".join(row) + " |")

    lines += ["", f"## Pages (targets at c={headline})", ""]
    header = ["page", "rps"]
    if compare:
        header.append("Δ rps")
    header += ["p50 ms", "p95 ms", "p99 ms"]
    for c in others:
        header += [f"rps c={c}", f"p95 ms c={c}"]
    header += ["x floor", "x admin", "queries warm / cold", "bytes", "targets"]
    lines += _table_header(header)
    for key, page in results["pages"].items():
        size = _number(page["bytes"])
        if page.get("fragment_share") is not None:
            size += f" ({page['fragment_share'] * 100:.0f}% of page)"
        label = key.removesuffix(HTMX_SUFFIX)
        label = f"`{label}` htmx" if page["htmx"] else f"`{label}`"
        if page["status"] != 200:
            label += f" (HTTP {page['status']})"
        row = [label, _number(page["rps"])]
        if compare:
            row.append(_change(page["rps"], previous.get("pages", {}).get(key, {}).get("rps")))
        row += [_number(page["p50_ms"]), _number(page["p95_ms"]), _number(page["p99_ms"])]
        for c in others:
            found = page["concurrency"].get(str(c), {})
            row += [_number(found.get("rps")), _number(found.get("p95_ms"))]
        row += [
            _number(page["ratio_floor"], 3),
            _number(page["ratio_admin"], 2),
            f"{_number(page['queries'])} / {_number(page.get('queries_cold'))}",
            size,
            _verdict(page["targets"]),
        ]
        lines.append("| " + " | ".join(row) + " |")
    lines += side_by_side(results)
    if results["missing_pages"]:
        lines += [
            "",
            "Not measured (no such URL yet): "
            + ", ".join(f"`{key}`" for key in results["missing_pages"]),
        ]

    memory = results["worker_rss_mb"]
    verdict = {True: "pass", False: "FAIL", None: "n/a"}[results["worker_rss_ok"]]
    lines += [
        "",
        "## Memory",
        "",
        f"RSS per gunicorn worker after the run (target < {WORKER_RSS_MB} MB, {verdict}): "
        + (", ".join(f"{mb:.0f} MB" for mb in memory.values()) or "-"),
        "",
        "## Digests",
        "",
    ]
    digests = results["digests"]
    if isinstance(digests, str):
        lines.append(digests)
    else:
        lines += ["```json", json.dumps(digests, indent=2), "```"]
    lines += [
        "",
        "## Targets",
        "",
        f"At c={headline}: p95 ≤ {P95_MS} ms; ≥ {ADMIN_RATIO}x the admin clause list's rps; "
        f"≥ {FLOOR_RATIO}x the floor's rps; ≤ {MAX_QUERIES} SQL queries (in-process, session "
        "queries included; warm: after one request to fill the page cache; cold: with the "
        "cache emptied, as after a change to the record); an htmx fragment ≤ 1/3 of its "
        f"page's bytes; each worker < {WORKER_RSS_MB} MB. Reported, not asserted: find "
        'causes with `python -m bench --profile "PATH"`.',
        "",
    ]
    return "\n".join(lines)


def side_by_side(results: dict) -> list[str]:
    """Per page: cached, cold (pages_cold) and while-editing (pages_while_editing) figures,
    each as a ratio to the floor and the admin measured in the same run."""
    cold = results.get("pages_cold") or {}
    editing = results.get("pages_while_editing") or {}
    if not cold and not editing:
        return []
    headline = results["headline_concurrency"]
    lines = [
        "",
        f"## Cached, right after a change, while an editor works (c={headline})",
        "",
        "Cold: a gunicorn whose page cache keeps nothing, so every request renders (targets "
        f"p95 ≤ {COLD_P95_MS} ms, ≥ {ADMIN_RATIO}x admin). While editing: the cached "
        "server, with an editor committing a change to another agreement's clauses every "
        "second (target ≥ 80% of the cached rps). Ratios are to the floor and the admin of "
        "this run.",
        "",
    ]
    header = ["page", "cached rps", "x floor", "x admin"]
    if cold:
        header += ["cold rps", "cold p95 ms", "x floor", "x admin", "cold targets"]
    if editing:
        header += ["editing rps", "editing p95 ms", "% of cached", "x admin", "editing target"]
    lines += _table_header(header)
    for key, page in results["pages"].items():
        label = key.removesuffix(HTMX_SUFFIX)
        label = f"`{label}` htmx" if page["htmx"] else f"`{label}`"
        row = [
            label,
            _number(page["rps"]),
            _number(page["ratio_floor"], 3),
            _number(page["ratio_admin"], 2),
        ]
        if cold:
            found = cold.get(key, {})
            row += [
                _number(found.get("rps")),
                _number(found.get("p95_ms")),
                _number(found.get("ratio_floor"), 3),
                _number(found.get("ratio_admin"), 2),
                _verdict(found.get("targets", {})),
            ]
        if editing:
            found = editing.get(key, {})
            share = ratio(found.get("rps"), page["rps"], 3)
            row += [
                _number(found.get("rps")),
                _number(found.get("p95_ms")),
                "-" if share is None else f"{share * 100:.0f}%",
                _number(found.get("ratio_admin"), 2),
                _verdict(found.get("targets", {})),
            ]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _table_header(columns: list[str]) -> list[str]:
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def _change(now: float | None, before: float | None) -> str:
    if now is None or not before:
        return "-"
    return f"{(now - before) / before * 100:+.0f}%"

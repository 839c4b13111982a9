"""`make soak`: the tracker under a steady mixed load for minutes, with writers running.

    python -m bench.soak [--minutes 10] [--quick | --full] [--seed N] [--results-dir DIR]
                         [--servers 2 [--cache local|redis]]

The bench's setup (bench/run.py: its own database `tracker_bench_<pid>`, the generated
record, collected static files, gunicorn with 4 sync workers, logged-in stakeholder
sessions), then for `--minutes`:

- readers: one wrk per page, all in parallel for the whole run, 32 connections in all;
- an editor: a thread (its own DB connection) calling `services.change_status` on a random
  clause or topic every ~0.2 s, counting the changes it made;
- digests: a thread (its own DB connection) planning and sending digests every ~20 s with
  the locmem mailer. Every user gets a daily subscription due now, and each cycle's clock
  is one day later than the last, so every subscription is due every cycle;
- gunicorn workers' RSS sampled every 30 s.

Then the checks: changes made = StatusChange rows added; no change in two deliveries of one
subscription; no two deliveries of one subscription for one period; every delivery sent or
pending.

Two servers (`--servers 2`): two gunicorn masters on two ports, as two app servers on one
PostgreSQL, each with `--workers`, readers spread over both. `--cache local` (the default):
each worker its own memory cache; `--cache redis`: one Redis shared by both, started from
Debian's `redis-server` on a free port by the soak itself (bench/redis_server.py). A checker
commits a status change with a note of its own every few seconds (as an editor saving
through one server, or a command on a third machine: they all write the same database) and
reads the agreement page through each server at once, which must show it: a change is seen
on every server at its next request, checked throughout the run.

Writes bench/results/soak.json and soak.md (soak-2-local.*, soak-2-redis.* with two
servers). The database is dropped and gunicorn
stopped at the end, whatever happens. The record is the quick size by default (setup in
seconds; `--full` for the bench's full size).
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from bench import load
from bench.run import (
    ROOT,
    Cleanup,
    configure,
    create_database,
    drain,
    drop_database,
    page_exists,
    say,
    server_url,
    session_cookies,
    start_gunicorn,
    status_over_http,
    stop_gunicorn,
    with_database,
    worker_memory,
)
from bench.writers import Editor, Loop

CONNECTIONS = 32
EDIT_EVERY = 0.2  # seconds
DIGEST_EVERY = 20.0  # seconds
CHECK_EVERY = 3.0  # seconds
RSS_EVERY = 30.0  # seconds
WARM_UP = 60.0  # seconds: the RSS sample to compare the end with is the first after this
FLAT_TOLERANCE = 0.20
SOAK_PAGES = [
    "/",
    "/agreements/",
    "/agreements/{agreement}/",
    "/clauses/{clause}/",
    "/topics/",
    "/topics/{topic}/",
    "/timeline/",
    "/search/?q=mars",
]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the soak (10)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the quick record (the default)")
    size.add_argument("--full", action="store_true", help="the bench's full-size record")
    parser.add_argument("--seed", type=int, default=2012, help="seed of the record (2012)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument(
        "--results-dir", type=Path, default=ROOT / "bench" / "results", help="(bench/results)"
    )
    parser.add_argument(
        "--servers", type=int, default=1, choices=[1, 2], help="gunicorn masters (1)"
    )
    parser.add_argument(
        "--cache",
        default="local",
        choices=["local", "redis"],
        help="with two servers: each worker's own cache, or one shared Redis (local)",
    )
    args = parser.parse_args(argv)
    args.worker_class, args.threads = "sync", 1  # what start_gunicorn reads
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    server = server_url()
    name = f"tracker_bench_{os.getpid()}"
    cleanup = Cleanup()
    atexit.register(cleanup.run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return soak(args, server, name, cleanup)
    finally:
        cleanup.run()


# The writers ---------------------------------------------------------------------------------


class Digests(Loop):
    """Plan and send every ~20 s; each cycle's clock is a day after the previous one."""

    every = DIGEST_EVERY

    def __init__(self, stop: threading.Event):
        super().__init__("digests", stop)
        self.cycles = 0
        self.planned = 0
        self.sent = 0
        self.outcomes: dict[str, int] = {}
        self.began = None

    def describe(self, error: Exception) -> str:
        return traceback.format_exc(limit=3)

    def step(self):
        from django.utils import timezone

        from agreements import digests

        self.began = self.began or timezone.now()
        now = max(timezone.now(), self.began) + datetime.timedelta(days=self.cycles + 1)
        planned = digests.plan_due_digests(now)
        sent = digests.send_pending_digests(now)
        for result in planned + sent:
            self.outcomes[result.outcome.value] = self.outcomes.get(result.outcome.value, 0) + 1
        self.planned += sum(1 for r in planned if r.outcome == digests.Outcome.PLANNED)
        self.sent += sum(1 for r in sent if r.outcome == digests.Outcome.SENT)
        self.cycles += 1


class Checker(Loop):
    """Every CHECK_EVERY s: commit a change to a clause with a note of its own, then read its
    agreement page through every server at once; each must show the note."""

    every = CHECK_EVERY

    def __init__(self, stop, editor, clause_id, page_urls, cookie):
        super().__init__("checker", stop)
        self.editor, self.clause_id = editor, clause_id
        self.page_urls, self.cookie = page_urls, cookie
        self.checks = 0
        self.made = 0
        self.stale: list[str] = []

    def page(self, url: str) -> str:
        import urllib.request

        request = urllib.request.Request(url, headers={"Cookie": self.cookie})  # noqa: S310
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.read().decode()

    def step(self):
        from agreements.models import Clause
        from agreements.services import change_status

        clause = Clause.objects.get(pk=self.clause_id)
        to = next(s for s in Clause.Status.values if s != clause.status)
        note = f"seen everywhere {self.made + 1}"
        change_status(clause, to=to, by=self.editor, note=note)
        self.made += 1
        for url in self.page_urls:
            if note not in self.page(url):
                self.stale.append(f"{url}: {note}")
        self.checks += 1


class Reader(threading.Thread):
    def __init__(self, url, connections, seconds, cookies):
        super().__init__(name=f"wrk {url}", daemon=True)
        self.args = (url, connections, seconds, cookies)
        self.figures: dict | None = None
        self.error = ""

    def run(self):
        url, connections, seconds, cookies = self.args
        try:
            self.figures = load.drive(
                url, concurrency=connections, duration=seconds, cookies=cookies
            )
        except Exception as error:
            self.error = str(error)


# The run --------------------------------------------------------------------------------------


def soak(args, server, name, cleanup) -> int:
    started = time.monotonic()
    say(f"== creating database {name}")
    create_database(server, name)
    cleanup.add("drop database", lambda: drop_database(server, name))
    workspace = tempfile.TemporaryDirectory(prefix="tracker-soak-")
    cleanup.add("remove temporary files", workspace.cleanup)
    environment = configure(with_database(server, name), str(Path(workspace.name) / "static"))

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from agreements.models import (
        Clause,
        DigestDelivery,
        DigestItem,
        StatusChange,
        Subscription,
        Topic,
    )
    from bench.generate import FULL, QUICK, generate

    # In-process mail goes to memory; gunicorn keeps its own settings (it sends none).
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

    say("== migrating")
    call_command("migrate", verbosity=0, interactive=False)
    size = "full" if args.full else "quick"
    say(f"== generating the record ({size} size, seed {args.seed})")
    record = generate(FULL if args.full else QUICK, args.seed)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    call_command("collectstatic", verbosity=0, interactive=False)
    cookies = session_cookies(record.stakeholders)

    # Daily digests due now for everyone, following everything they can see.
    from django.contrib.auth.models import User

    now = timezone.now()
    day_ago = now - datetime.timedelta(days=1)
    Subscription.objects.update(frequency="daily", next_due_at=now, created_at=day_ago)
    Subscription.objects.bulk_create(
        Subscription(user=user, frequency="daily", next_due_at=now, created_at=day_ago)
        for user in User.objects.filter(subscription__isnull=True)
    )
    subscriptions = Subscription.objects.count()

    places = {
        "agreement": record.agreement,
        "clause": record.clause,
        "topic": record.topic,
        "programme": record.programme,
    }
    paths = [p.format(**places) for p in SOAK_PAGES]
    paths = [p for p in paths if page_exists(p)]

    if args.servers > 1 and args.cache == "redis":
        from bench.redis_server import RedisServer

        redis = RedisServer().start()
        cleanup.add("stop redis-server", redis.stop)
        environment = {**environment, "CACHE_URL": redis.url}
        say(f"== redis-server on port {redis.port}, shared by both servers")
    processes, bases = [], []
    for number in range(args.servers):
        say(f"== gunicorn {number + 1}: {args.workers} sync workers")
        log = Path(workspace.name) / f"gunicorn-{number + 1}.log"
        started_process, started_base = start_gunicorn(args, environment, log)
        cleanup.add("stop gunicorn", lambda p=started_process: stop_gunicorn(p))
        processes.append(started_process)
        bases.append(started_base)
    base = bases[0]
    checked = {p: status_over_http(base + p, cookies[0], {}) for p in paths}
    say(f"   first statuses: {checked}")
    paths = [p for p in paths if checked[p] == 200]

    clause_ids = list(Clause.objects.values_list("pk", flat=True))
    topic_ids = list(Topic.objects.values_list("pk", flat=True))
    changes_before = StatusChange.objects.count()
    connection.close()  # the threads open their own

    seconds = args.minutes * 60
    per_page = [
        CONNECTIONS // len(paths) + (i < CONNECTIONS % len(paths)) for i in range(len(paths))
    ]
    say(
        f"== soak: {args.minutes:g} min, {CONNECTIONS} connections over {len(paths)} pages, "
        f"editor every {EDIT_EVERY} s, digests every {DIGEST_EVERY:g} s"
    )
    stop = threading.Event()
    # Each page through one server, the next through the other: readers spread over both.
    readers = [
        Reader(bases[i % len(bases)] + p, c, seconds, cookies)
        for i, (p, c) in enumerate(zip(paths, per_page, strict=True))
    ]
    editor = Editor(stop, list(record.editors), clause_ids, topic_ids, args.seed, EDIT_EVERY)
    digest_loop = Digests(stop)
    threads = [*readers, editor, digest_loop]
    checker = None
    if args.servers > 1:
        checker = Checker(
            stop,
            record.editors[0],
            record.clause,
            [b + f"/agreements/{record.agreement}/" for b in bases],
            cookies[-1],
        )
        threads.append(checker)
    rss: list[dict] = []
    soak_started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        next_sample = soak_started
        while any(r.is_alive() for r in readers):
            if time.monotonic() >= next_sample:
                elapsed = round(time.monotonic() - soak_started)
                sample = {"t": elapsed, "workers": all_workers(processes)}
                rss.append(sample)
                say(
                    f"   t={elapsed:>4}s rss {sample['workers']}  changes {editor.made}  "
                    f"digests sent {digest_loop.sent}"
                )
                next_sample += RSS_EVERY
            time.sleep(0.5)
        rss.append({"t": round(time.monotonic() - soak_started), "workers": all_workers(processes)})
    finally:
        stop.set()
        editor.join(timeout=60)
        digest_loop.join(timeout=300)
        if checker is not None:
            checker.join(timeout=120)
    for each_base, each_process in zip(bases, processes, strict=True):
        drain(each_base)
        stop_gunicorn(each_process)

    # Checks ------------------------------------------------------------------------------
    from django.core import mail

    # The checker's changes are its own, not the editor's.
    changes_after = StatusChange.objects.count() - (checker.made if checker else 0)
    soak_rows = StatusChange.objects.filter(note="soak").count()
    items, deliveries = DigestItem._meta.db_table, DigestDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT subscription_id, change_id FROM {items} "  # noqa: S608
            "WHERE change_id IS NOT NULL GROUP BY subscription_id, change_id "
            "HAVING count(DISTINCT delivery_id) > 1 OR count(*) > 1) AS d"
        )
        change_in_two = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT count(*) FROM (SELECT subscription_id, statement_id FROM {items} "  # noqa: S608
            "WHERE statement_id IS NOT NULL GROUP BY subscription_id, statement_id "
            "HAVING count(*) > 1) AS d"
        )
        statement_in_two = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT count(*) FROM (SELECT subscription_id, period_start FROM {deliveries} "  # noqa: S608
            "GROUP BY subscription_id, period_start HAVING count(*) > 1) AS d"
        )
        period_twice = cursor.fetchone()[0]
        cursor.execute(f"SELECT status, count(*) FROM {deliveries} GROUP BY status")  # noqa: S608
        by_status = dict(cursor.fetchall())
        cursor.execute(f"SELECT count(*) FROM {items} WHERE change_id IS NOT NULL")  # noqa: S608
        change_items = cursor.fetchone()[0]
        # Changes the editor made that are in no digest of a subscription that follows all.
        cursor.execute(
            f"SELECT count(*) FROM {StatusChange._meta.db_table} c "  # noqa: S608
            "WHERE c.note = 'soak' AND NOT EXISTS "
            f"(SELECT 1 FROM {items} i WHERE i.change_id = c.id)"
        )
        soak_changes_in_no_digest = cursor.fetchone()[0]
    outbox = len(getattr(mail, "outbox", []))

    runs = {}
    for r in readers:
        number = bases.index(next(b for b in bases if r.args[0].startswith(b)))
        label = r.args[0].split("/", 3)[3]
        runs["/" + label + (f" (server {number + 1})" if len(bases) > 1 else "")] = r.figures or {
            "error": r.error
        }
    ok = [f for f in runs.values() if "requests" in f]
    requests = sum(f["requests"] for f in ok)
    statuses: dict[str, int] = {}
    for f in ok:
        for code, count in f["statuses"].items():
            statuses[code] = statuses.get(code, 0) + count
    non_2xx_3xx = sum(c for code, c in statuses.items() if not 200 <= int(code) < 400)
    five_xx = sum(c for code, c in statuses.items() if int(code) >= 500)
    socket_errors = {}
    for f in ok:
        for kind, count in f["errors"].items():
            socket_errors[kind] = socket_errors.get(kind, 0) + count
    p95s = [f["p95_ms"] for f in ok if f["p95_ms"] is not None]
    weighted_p95 = (
        round(sum(f["p95_ms"] * f["requests"] for f in ok if f["p95_ms"]) / requests, 1)
        if requests
        else None
    )

    warm = next((s for s in rss if s["t"] >= WARM_UP), rss[0] if rss else None)
    first, last = (rss[0], rss[-1]) if rss else ({}, {})
    memory = {}
    for pid in sorted(set(first.get("workers", {})) | set(last.get("workers", {}))):
        start_mb = first["workers"].get(pid)
        warm_mb = (warm or {}).get("workers", {}).get(pid)
        end_mb = last["workers"].get(pid)
        flat = (
            None if warm_mb is None or end_mb is None else end_mb <= warm_mb * (1 + FLAT_TOLERANCE)
        )
        memory[pid] = {
            "start_mb": start_mb,
            "after_warm_up_mb": warm_mb,
            "end_mb": end_mb,
            "flat": flat,
        }

    results = {
        "when": timezone.now().isoformat(),
        "minutes": args.minutes,
        "record": size,
        "workers": args.workers,
        "connections": CONNECTIONS,
        "servers": args.servers,
        "cache": args.cache if args.servers > 1 else "local",
        "pages": {key: c for key, c in zip(runs, per_page, strict=True)},
        "requests": requests,
        "rps": round(sum(f["rps"] for f in ok), 1),
        "p95_ms_worst_page": max(p95s) if p95s else None,
        "p95_ms_request_weighted": weighted_p95,
        "statuses": statuses,
        "non_2xx_3xx": non_2xx_3xx,
        "5xx": five_xx,
        "socket_errors": socket_errors,
        "per_page": runs,
        "status_changes": {
            "made": editor.made,
            "rows_added": changes_after - changes_before,
            "rows_with_soak_note": soak_rows,
            "equal": editor.made == changes_after - changes_before == soak_rows,
            "editor_errors": len(editor.errors),
            "first_errors": editor.errors[:5],
        },
        "digests": {
            "subscriptions": subscriptions,
            "cycles": digest_loop.cycles,
            "planned": digest_loop.planned,
            "sent": digest_loop.sent,
            "locmem_outbox": outbox,
            "outcomes": digest_loop.outcomes,
            "deliveries_by_status": by_status,
            "change_items": change_items,
            "change_in_two_deliveries_of_a_subscription": change_in_two,
            "statement_in_two_deliveries_of_a_subscription": statement_in_two,
            "two_deliveries_for_one_period": period_twice,
            "soak_changes_in_no_digest": soak_changes_in_no_digest,
            "all_sent_or_pending": set(by_status) <= {"sent", "pending"},
            "errors": digest_loop.errors[:5],
        },
        "seen_everywhere": None
        if checker is None
        else {
            "checks": checker.checks,
            "servers_read_per_check": len(bases),
            "stale_reads": len(checker.stale),
            "first_stale": checker.stale[:5],
            "errors": checker.errors[:5],
        },
        "rss": {
            "samples": rss,
            "per_worker": memory,
            "flat": all(m["flat"] for m in memory.values()) if memory else None,
        },
        "elapsed_s": round(time.monotonic() - started),
    }
    results["passed"] = bool(
        results["status_changes"]["equal"]
        # The editor's refused changes are not made, so "equal" alone would not see them.
        and not editor.errors
        and five_xx == 0
        and change_in_two == 0
        and statement_in_two == 0
        and period_twice == 0
        and results["digests"]["all_sent_or_pending"]
        and results["rss"]["flat"]
        and (checker is None or (checker.checks > 0 and not checker.stale and not checker.errors))
    )
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = "soak" if args.servers == 1 else f"soak-{args.servers}-{args.cache}"
    (args.results_dir / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = render(results)
    (args.results_dir / f"{stem}.md").write_text(markdown)
    say(f"== wrote {args.results_dir / (stem + '.json')}, {args.results_dir / (stem + '.md')}")
    print(markdown)
    return 0 if results["passed"] else 1


def all_workers(processes) -> dict[str, float]:
    """RSS of the workers of every gunicorn master."""
    found = {}
    for process in processes:
        found |= worker_memory(process.pid)
    return found


def render(r: dict) -> str:
    sc, dg = r["status_changes"], r["digests"]
    servers = r.get("servers", 1)
    lines = [
        f"# Soak: {r['minutes']:g} min, {r['record']} record, "
        + (
            f"{servers} servers of {r['workers']} workers ({r['cache']} cache), "
            if servers > 1
            else f"{r['workers']} workers, "
        )
        + f"{r['connections']} connections",
        "",
        f"Result: **{'PASS' if r['passed'] else 'FAIL'}** ({r['when']})",
        "",
        f"- Requests: {r['requests']:,} ({r['rps']} rps); statuses {r['statuses']}; "
        f"non-2xx/3xx {r['non_2xx_3xx']}; 5xx {r['5xx']}; socket errors {r['socket_errors']}",
        f"- p95: worst page {r['p95_ms_worst_page']} ms, request-weighted "
        f"{r['p95_ms_request_weighted']} ms",
        f"- Status changes made {sc['made']}, rows added {sc['rows_added']} "
        f"(with the soak note {sc['rows_with_soak_note']}): "
        f"{'equal' if sc['equal'] else 'NOT EQUAL'}; editor errors {sc['editor_errors']}",
        f"- Digests: {dg['subscriptions']} subscriptions, {dg['cycles']} cycles, planned "
        f"{dg['planned']}, sent {dg['sent']} (outbox {dg['locmem_outbox']}); deliveries "
        f"{dg['deliveries_by_status']}; change in two deliveries of a subscription: "
        f"{dg['change_in_two_deliveries_of_a_subscription']}; two deliveries for one period: "
        f"{dg['two_deliveries_for_one_period']}; soak changes in no digest: "
        f"{dg['soak_changes_in_no_digest']}",
    ]
    seen = r.get("seen_everywhere")
    if seen:
        lines.append(
            f"- A change seen through every server at its next request: {seen['checks']} "
            f"checks, each reading {seen['servers_read_per_check']} servers; stale reads "
            f"{seen['stale_reads']}; errors {seen['errors']}"
        )
    lines += [
        "",
        "| page | connections | requests | rps | p95 ms | statuses |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for page, f in r["per_page"].items():
        if "requests" in f:
            lines.append(
                f"| `{page}` | {r['pages'][page]} | {f['requests']:,} | {f['rps']} | "
                f"{f['p95_ms']} | {f['statuses']} |"
            )
        else:
            lines.append(f"| `{page}` | {r['pages'][page]} | error: {f['error']} | | | |")
    lines += [
        "",
        "| worker | start MB | after warm-up MB | end MB | flat (≤ +20%) |",
        "|---|---:|---:|---:|---|",
    ]
    for pid, m in r["rss"]["per_worker"].items():
        lines.append(
            f"| {pid} | {m['start_mb']} | {m['after_warm_up_mb']} | {m['end_mb']} | {m['flat']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

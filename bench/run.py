"""`make bench`: the tracker at 100 times the demo, served as production serves it, under load.

    python -m bench [--quick] [--seed N] [--duration S] [--results-dir DIR]
                    [--no-page-cache] [--no-cold] [--no-digests] [--only TEXT]
    python -m bench --profile "/agreements/{agreement}/" [--profile-runs N] [--cold]

Steps: create a database of its own on the PostgreSQL server that DATABASE_URL names
(`tracker_bench_<pid>`; the database DATABASE_URL names is never opened), migrate it,
generate the record (bench/generate.py), collect the static files into a temporary
directory, start gunicorn on a free loopback port, measure each page's SQL queries and size
in-process, drive each page and fragment with wrk at each concurrency next to three
references (the floor endpoint, the admin's clause list, a static file) with the page cache
on (`pages`), then again on a gunicorn whose cache keeps nothing (`pages_cold`: every
request renders, as right after a change), and write bench/results/latest.json and
latest.md. The database is dropped and gunicorn stopped at
the end, whatever happens.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import load, report
from bench.pages import ADMIN, FLOOR, HTMX_SUFFIX, STATIC, Target, targets

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# Readers at once, each with a session of their own, as in production: a session row is
# pushed back at most once a minute (IdleSessionMiddleware), so each session writes once
# per run, not once per request.
SESSIONS = 32
DIGESTS_TIMEOUT = 3600
EDIT_EVERY = 1.0  # seconds between the editor's commits in pages_while_editing
WARM_UP = 2.0  # seconds of unmeasured load on each URL first, to fill every worker's cache


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/100 of the size, short runs (CI)")
    parser.add_argument("--seed", type=int, default=2012, help="seed of the record (2012)")
    parser.add_argument(
        "--duration", type=float, help="seconds of wrk per URL and concurrency (10; quick: 2)"
    )
    parser.add_argument(
        "--concurrency",
        default="8,32",
        help="comma-separated wrk connection counts; the first is the headline (8,32)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument(
        "--worker-class", default="sync", choices=["sync", "gthread"], help="(sync)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker (1)")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=ROOT / "bench" / "results",
        help="where latest.json, latest.md and previous.json go (bench/results)",
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help='profile one page in-process instead of the load run; "{agreement}", '
        '"{clause}", "{topic}", "{programme}" name the benched records; end with " [htmx]" '
        "for the fragment",
    )
    parser.add_argument(
        "--no-page-cache",
        action="store_true",
        help="serve with the page cache off (PAGE_CACHE_SECONDS=0): every request renders, "
        "as right after a change to the record",
    )
    parser.add_argument(
        "--no-editing",
        action="store_true",
        help="skip the run with an editor committing a change every second (pages_while_editing)",
    )
    parser.add_argument(
        "--no-cold",
        action="store_true",
        help="skip the second run with the page cache off (pages_cold)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="measure only the pages whose key contains TEXT (repeatable): to follow one "
        "page's figures while working on it; the references are always measured",
    )
    parser.add_argument(
        "--no-digests", action="store_true", help="skip bench/digests.py (minutes at full size)"
    )
    parser.add_argument("--profile-runs", type=int, default=50, help="requests to profile (50)")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="with --profile: empty the page cache before each request (what a change costs)",
    )
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 2.0 if args.quick else 10.0
    args.concurrency = [int(value) for value in args.concurrency.split(",") if value.strip()]
    return args


# Cleaning up, whatever happens ----------------------------------------------------------------


class Cleanup:
    """Undo steps, newest first, once: from `finally`, atexit, or a SIGTERM."""

    def __init__(self):
        self.steps: list[tuple[str, Callable[[], None]]] = []

    def add(self, label: str, step: Callable[[], None]) -> None:
        self.steps.append((label, step))

    def run(self) -> None:
        while self.steps:
            label, step = self.steps.pop()
            try:
                step()
            except Exception as error:
                say(f"!! cleanup: {label} failed: {error}")


# The database ----------------------------------------------------------------------------------


def server_url() -> str:
    """The PostgreSQL server of DATABASE_URL; only its host, port and credentials are used."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql", "postgis"}:
        raise SystemExit(
            "The benchmark needs PostgreSQL: set DATABASE_URL to any database on the server "
            f"to use, e.g. {DEFAULT_SERVER} (it creates and drops a database of its own)."
        )
    return url


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def maintenance(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        connection.execute(sql)


def create_database(url: str, name: str) -> None:
    maintenance(url, f'CREATE DATABASE "{name}"')


def drop_database(url: str, name: str) -> None:
    from django.db import connections

    connections.close_all()
    # FORCE: a gunicorn worker killed mid-request may leave a connection behind.
    maintenance(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    say(f"== dropped database {name}")


# Django in this process -------------------------------------------------------------------------


def configure(database_url: str, static_root: str, page_cache: bool = True) -> dict[str, str]:
    """The production settings on the bench database; the same for gunicorn and for us."""
    environment = {
        "PAGE_CACHE_SECONDS": os.environ.get("PAGE_CACHE_SECONDS", "600") if page_cache else "0",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_MANIFEST": "1",
        "BENCH_STATIC_ROOT": static_root,
        # Plain HTTP on loopback: no HTTPS redirect, the usual cookie names.
        "DJANGO_ENV": "",
        "LOG_LEVEL": "WARNING",
        # The API is measured, not its rate limit: every bench request is one session's.
        "API_THROTTLE_RATE": "1000000/second",
    }
    os.environ.update(environment)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return environment


def session_cookies(users) -> list[str]:
    """Logged-in sessions made the way `login()` makes them, as Cookie header values."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    engine = import_module(settings.SESSION_ENGINE)
    cookies = []
    for user in users[:SESSIONS]:
        session = engine.SessionStore()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = MODEL_BACKEND
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    return cookies


def page_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(urlsplit(path).path)
    except Resolver404:
        return False
    return True


def body(response) -> bytes:
    """The whole body, a streamed download's (exports.py) included. Read inside the caller's
    query capture: a stream runs its queries as it is read."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def in_process(target: Target, cookie: str) -> dict:
    """Status, SQL queries and body size of one request after one to warm up, and the SQL
    queries of the same request with the page cache empty (record_cache.py)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1", raise_request_exception=False)
    name, value = cookie.split("=", 1)
    client.cookies[name] = value
    body(client.get(target.path, headers=target.headers))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(target.path, headers=target.headers)
        content = body(response)
    cache.clear()
    with CaptureQueriesContext(connection) as cold_queries:
        body(client.get(target.path, headers=target.headers))
    return {
        "status": response.status_code,
        "queries": len(queries),
        "queries_cold": len(cold_queries),
        "bytes": len(content),
        # A page, or an answer that is not HTML (the API's JSON, a PDF, a CSV download):
        # never a fragment.
        "whole_document": b"<html" in content
        or not response.get("Content-Type", "").startswith("text/html"),
    }


def profile(target: Target, cookie: str, runs: int, cold: bool = False) -> None:
    import cProfile
    import pstats

    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1", raise_request_exception=False)
    name, value = cookie.split("=", 1)
    client.cookies[name] = value
    headers = target.headers
    body(client.get(target.path, headers=headers))
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as queries:
        first = client.get(target.path, headers=headers)
        content = body(first)
    print(
        f"{target.key}: HTTP {first.status_code}, {len(content):,} bytes, "
        f"{len(queries)} SQL queries:"
    )
    for number, query in enumerate(queries, 1):
        print(f"  {number:>2}. [{float(query['time']) * 1000:.1f} ms] {query['sql'][:300]}")
    say(f"== profiling {target.key}: {runs} requests")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(runs):
        if cold:
            cache.clear()
        body(client.get(target.path, headers=headers))
    profiler.disable()
    elapsed = time.perf_counter() - started
    state = "cache emptied before each" if cold else "page cache warm"
    print(f"{target.key}: {elapsed / runs * 1000:.1f} ms per request under the profiler ({state})")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    print("\n== by cumulative time")
    stats.sort_stats("cumulative").print_stats(30)
    print("== by own time")
    stats.sort_stats("tottime").print_stats(20)


# gunicorn ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(args, environment: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "exomars_site.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={args.workers}",
        f"--worker-class={args.worker_class}",
        f"--threads={args.threads}",
        "--log-level=warning",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own argv, no shell)
            command,
            cwd=ROOT,
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within a minute:\n{log.read_text()}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        say("== stopped gunicorn")


def drain(base: str) -> None:
    """Wait until the requests wrk left queued are answered, so that they do not slow the
    next URL's run: the accept queue is first come, first served, so one request answered
    means every request queued before it was answered too."""
    with urllib.request.urlopen(f"{base}/healthz", timeout=600) as response:  # noqa: S310
        response.read()


def worker_memory(master: int) -> dict[str, float]:
    """VmRSS in MB of each worker (the master's children)."""
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        pids = [int(pid) for pid in children.read_text().split()]
    else:
        # A kernel without CONFIG_PROC_CHILDREN: look for processes whose parent it is.
        pids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                if f"\nPPid:\t{master}\n" in status.read_text():
                    pids.append(int(status.parent.name))
            except OSError:
                continue
    memory = {}
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                memory[str(pid)] = round(int(line.split()[1]) / 1024, 1)
    return memory


def status_over_http(url: str, cookie: str | None, headers: dict[str, str]) -> int:
    """The status of one request, redirects not followed (a 302 to the login page is not a
    page)."""

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url)  # noqa: S310 (our own loopback server)
    if cookie:
        request.add_header("Cookie", cookie)
    for name, value in headers.items():
        request.add_header(name, value)
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# Digests ----------------------------------------------------------------------------------------


def digest_figures(quick: bool, environment: dict[str, str]) -> dict | str:
    """bench/digests.py's JSON, run as a user would run it: it makes its own database."""
    script = ROOT / "bench" / "digests.py"
    if not script.exists():
        return "not available"
    say("== bench/digests.py")
    command = [sys.executable, str(script), *(["--quick"] if quick else [])]
    try:
        finished = subprocess.run(  # noqa: S603 (our own argv, no shell)
            command,
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=DIGESTS_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"bench/digests.py did not finish within {DIGESTS_TIMEOUT} s"}
    if finished.returncode != 0:
        return {"error": f"exit {finished.returncode}: {finished.stderr.strip()[-2000:]}"}
    for text in (finished.stdout, *reversed(finished.stdout.strip().splitlines())):
        try:
            return json.loads(text)
        except ValueError:
            continue
    return {"error": "no JSON in its output", "output": finished.stdout[-2000:]}


def drive_all(
    args,
    base: str,
    references: dict,
    pages: list[Target],
    reader_cookies: list[str],
    measured,
    warm_up: bool = True,
) -> dict:
    """wrk on the references and every page at each concurrency: {key: {concurrency: figures}}.

    With `warm_up`, each URL is first driven for WARM_UP seconds, unmeasured: every worker
    keeps a cache of its own, and a page taking a second to render cold would otherwise
    spend a short run's first seconds filling four caches (the cached agreement page: 21
    rps in a 4 s run without, 31 with). The quick run (CI) has no warm-up: it
    checks the harness, not figures."""
    load_figures: dict[str, dict[int, dict]] = {}
    for concurrency in args.concurrency:
        say(f"== wrk, {concurrency} connections, {args.duration:g} s per URL")
        runs = list(references.values()) + [(target, reader_cookies) for target in pages]
        for target, run_cookies in runs:
            if measured[target.key].get("http_status") != 200:
                say(f"   skipped {target.key}: HTTP {measured[target.key].get('http_status')}")
                continue
            if any(not run["requests"] for run in load_figures.get(target.key, {}).values()):
                # More connections would only queue more requests that outlast the run,
                # and draining them would take minutes.
                say(f"   skipped {target.key}: no answer within the run at fewer connections")
                continue
            if warm_up and not args.quick:
                load.drive(
                    base + target.path,
                    concurrency=concurrency,
                    duration=WARM_UP,
                    cookies=run_cookies,
                    headers=target.headers,
                )
            figures = load.drive(
                base + target.path,
                concurrency=concurrency,
                duration=args.duration,
                cookies=run_cookies,
                headers=target.headers,
            )
            load_figures.setdefault(target.key, {})[concurrency] = figures
            p95 = "-" if figures["p95_ms"] is None else f"{figures['p95_ms']:.1f}"
            say(
                f"   {target.key:<56} {figures['rps']:>8.1f} rps  p95 {p95:>7} ms  "
                f"{figures['statuses']}"
            )
            drain(base)
    return load_figures


def while_editing(args, base, pages, cookies, measured, record) -> dict:
    """The pages again, on the same (cached) server, while an editor works on another
    agreement than the one read (a new text, a position, a status change of its clauses,
    in turn, one every EDIT_EVERY seconds): what readers get while work goes on. The
    shared pages (dashboard, lists, timeline, search, briefing) show every change; the
    agreement's, clause's, topic's and programme's pages read here show none."""
    import threading

    from agreements.models import Agreement
    from bench.writers import AgreementEditor

    others = Agreement.objects.exclude(slug=record.agreement).order_by("slug")
    edited = others.first() or Agreement.objects.get(slug=record.agreement)
    say(
        f"== while an editor works on {edited.slug} (a change every {EDIT_EVERY:g} s): "
        "pages_while_editing"
    )
    stop = threading.Event()
    editor = AgreementEditor(stop, list(record.editors), edited.pk, args.seed, EDIT_EVERY)
    editor.start()
    try:
        return drive_all(args, base, {}, pages, cookies, measured)
    finally:
        stop.set()
        editor.join(timeout=60)
        say(f"   the editor made {editor.made} changes ({len(editor.errors)} errors)")
        for error in sorted(set(editor.errors))[:5]:
            say(f"   !! {error}")


# The run -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = server_url()
    name = f"tracker_bench_{os.getpid()}"
    cleanup = Cleanup()
    atexit.register(cleanup.run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(args, server, name, cleanup)
    finally:
        cleanup.run()


def run(args, server: str, name: str, cleanup: Cleanup) -> int:
    started = time.monotonic()
    say(f"== creating database {name}")
    create_database(server, name)
    cleanup.add("drop database", lambda: drop_database(server, name))
    workspace = tempfile.TemporaryDirectory(prefix="tracker-bench-")
    cleanup.add("remove temporary files", workspace.cleanup)
    static_root = Path(workspace.name) / "static"
    user_environment = dict(os.environ)
    environment = configure(
        with_database(server, name), str(static_root), page_cache=not args.no_page_cache
    )

    from django.conf import settings
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.management import call_command
    from django.db import connection

    from bench.generate import FULL, QUICK, generate

    say("== migrating")
    call_command("migrate", verbosity=0, interactive=False)
    sizes = QUICK if args.quick else FULL
    say(f"== generating the record ({'quick' if args.quick else 'full'} size, seed {args.seed})")
    record = generate(sizes, args.seed)
    # Planner statistics and the visibility map, as autovacuum would have them on a database
    # that grew to this size over months; without them the plans are a freshly loaded
    # database's, not production's.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    call_command("collectstatic", verbosity=0, interactive=False)
    stakeholder_cookies = session_cookies(record.stakeholders)
    editor_cookies = session_cookies(record.editors)
    places = {
        "agreement": record.agreement,
        "clause": record.clause,
        "topic": record.topic,
        "programme": record.programme,
    }

    if args.profile:
        # A URL of the page list keeps its htmx headers; any other URL is taken as it is.
        key = args.profile.format(**places)
        known = {target.key: target for target in targets(places)}
        path = key.removesuffix(HTMX_SUFFIX)
        target = known.get(key) or Target(key=key, path=path, htmx=key != path)
        profile(target, stakeholder_cookies[0], args.profile_runs, cold=args.cold)
        return 0

    pages = [target for target in targets(places) if page_exists(target.path)]
    if args.only:
        pages = [target for target in pages if any(text in target.key for text in args.only)]
    missing = [target.key for target in targets(places) if not page_exists(target.path)]
    for key in missing:
        say(f"   not measured, no such page yet: {key}")
    static_path = settings.STATIC_URL.rstrip("/") + "/" + staticfiles_storage.stored_name(STATIC)
    if not static_path.startswith("/"):
        static_path = "/" + static_path
    references = {
        "floor": (Target(key=FLOOR, path=FLOOR), stakeholder_cookies),
        "admin": (Target(key=ADMIN, path=ADMIN), editor_cookies),
        "static": (Target(key=static_path, path=static_path), []),
    }

    say("== SQL queries and sizes, in-process")
    measured = {target.key: in_process(target, stakeholder_cookies[0]) for target in pages}
    for label in ("floor", "admin"):
        target, cookies = references[label]
        measured[target.key] = in_process(target, cookies[0])

    say(f"== gunicorn: {args.workers} {args.worker_class} workers")
    process, base = start_gunicorn(args, environment, Path(workspace.name) / "gunicorn.log")
    cleanup.add("stop gunicorn", lambda: stop_gunicorn(process))

    for target in pages:
        measured[target.key]["http_status"] = status_over_http(
            base + target.path, stakeholder_cookies[0], target.headers
        )
    for _label, (target, cookies) in references.items():
        status = status_over_http(base + target.path, cookies[0] if cookies else None, {})
        measured.setdefault(target.key, {})["http_status"] = status

    load_figures = drive_all(args, base, references, pages, stakeholder_cookies, measured)
    memory = worker_memory(process.pid)
    editing_figures = None
    if not (args.no_editing or args.no_page_cache):
        editing_figures = while_editing(args, base, pages, stakeholder_cookies, measured, record)
    stop_gunicorn(process)

    cold_figures = None
    if not (args.no_cold or args.no_page_cache):
        # The same pages on workers whose cache keeps nothing: each request renders, as the
        # first request after a change to what the page shows does.
        say("== gunicorn with the page cache off: pages_cold")
        cold_process, base = start_gunicorn(
            args, {**environment, "PAGE_CACHE_SECONDS": "0"}, Path(workspace.name) / "cold.log"
        )
        cleanup.add("stop gunicorn (cold)", lambda: stop_gunicorn(cold_process))
        cold_figures = drive_all(
            args, base, {}, pages, stakeholder_cookies, measured, warm_up=False
        )
        stop_gunicorn(cold_process)
    if args.no_digests:
        digests = "not run (--no-digests)"
    else:
        digests = digest_figures(args.quick, {**user_environment, "DATABASE_URL": server})

    results = report.build(
        args=args,
        sizes=sizes,
        pages=pages,
        missing=missing,
        references={label: target.key for label, (target, _) in references.items()},
        measured=measured,
        load_figures=load_figures,
        cold_figures=cold_figures,
        editing_figures=editing_figures,
        memory=memory,
        digests=digests,
        elapsed=time.monotonic() - started,
    )
    written = report.write(results, args.results_dir)
    say(f"== wrote {', '.join(str(path) for path in written)}")
    print(written[-1].read_text())
    return 0

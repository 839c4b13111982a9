"""`make bench` in quick mode, so that the benchmark cannot rot: every page answers 200 and
the report is written. No timing is asserted; a shared CI machine measures nothing."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.skipif(
        urlsplit(DATABASE_URL).scheme not in {"postgres", "postgresql"},
        reason="the benchmark creates its own PostgreSQL database; DATABASE_URL is not PostgreSQL",
    ),
    pytest.mark.skipif(
        shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
    ),
]

PAGE_KEYS = {"rps", "p95_ms", "ratio_floor", "ratio_admin", "queries", "bytes"}
TOP_KEYS = {"pages", "floor_rps", "admin_rps", "static_rps", "machine", "sizes", "seed", "quick"}


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    results = tmp_path_factory.mktemp("bench-results")
    # The bench configures Django itself (bench.settings, its own database and secret).
    environment = {
        name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"
    }
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--duration=1",
            "--concurrency=2,4",
            f"--results-dir={results}",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return finished, results


@pytest.fixture(scope="module")
def report(bench_run) -> dict:
    finished, results = bench_run
    assert finished.returncode == 0, finished.stderr[-4000:]
    return json.loads((results / "latest.json").read_text())


def test_it_writes_the_report_with_the_required_keys(report, bench_run):
    _, results = bench_run
    assert report.keys() >= TOP_KEYS
    assert report["quick"] is True
    assert report["machine"]["cores"] >= 1
    assert report["pages"]
    for key, page in report["pages"].items():
        assert page.keys() >= PAGE_KEYS, key
    assert (results / "latest.md").read_text().startswith("# Benchmark: quick size")


def test_every_page_and_fragment_answers_200(report):
    downloads = {key: page for key, page in report["pages"].items() if "format=" in key}
    assert downloads
    # A download is never cached (exports.py): every request builds it, as a page with the
    # cache off does, and may outlast the quick run's second on a busy machine.
    assert_answered_200(downloads)
    for key, page in report["pages"].items():
        # Once over HTTP through gunicorn, once in-process, and every response under load.
        assert page["status"] == 200, key
        assert page["in_process_status"] == 200, key
        if key in downloads:
            continue
        # Driven at both concurrencies, and answering: a page that answered nothing under
        # load would have no statuses, and no run at the higher concurrency.
        assert set(page["concurrency"]) == {"2", "4"}, key
        for concurrency, figures in page["concurrency"].items():
            assert figures["requests"] > 0, (key, concurrency)
            assert set(figures["statuses"]) == {"200"}, (key, concurrency, figures["statuses"])
            assert figures["errors"]["status"] == 0, (key, concurrency)


def test_it_measures_every_page_again_with_the_cache_off(report, bench_run):
    _, results = bench_run
    assert report["pages_cold"].keys() == report["pages"].keys()
    for key, page in report["pages_cold"].items():
        assert page.keys() >= PAGE_KEYS, key
    assert_answered_200(report["pages_cold"])
    assert "right after a change" in (results / "latest.md").read_text()


def test_it_measures_every_page_while_an_editor_works(report):
    assert report["pages_while_editing"].keys() == report["pages"].keys()
    assert_answered_200(report["pages_while_editing"])


def assert_answered_200(pages: dict) -> None:
    """Every answer was a 200, and pages were answered. (A rendered page can take longer
    than the quick run's one second on a busy machine: a page with no answer is not a
    failure of the harness.)"""
    answered = 0
    for key, page in pages.items():
        for concurrency, figures in page["concurrency"].items():
            answered += figures["requests"]
            assert set(figures["statuses"]) <= {"200"}, (key, concurrency, figures["statuses"])
            assert figures["errors"]["status"] == 0, (key, concurrency)
    assert answered > 0


def test_every_reader_page_exists(report):
    assert report["missing_pages"] == []


def test_the_references_answer_200(report):
    for label, reference in report["references"].items():
        assert reference["status"] == 200, label
        assert set(reference["concurrency"]) == {"2", "4"}, label
        for figures in reference["concurrency"].values():
            assert figures["requests"] > 0, label
            assert set(figures["statuses"]) == {"200"}, label
    assert report["floor_rps"] > 0
    assert report["admin_rps"] > 0
    assert report["static_rps"] > 0


def test_it_measures_queries_and_sizes_of_pages_and_fragments(report):
    for key, page in report["pages"].items():
        assert page["queries"] > 0, key
        assert page["bytes"] > 0, key
        # A fragment is a region of its page, not the page again.
        assert page["whole_document"] is not page["htmx"], key
        if page["htmx"]:
            assert page["fragment_share"] is not None, key


def test_it_drops_its_database(bench_run):
    finished, _ = bench_run
    assert "== dropped database tracker_bench_" in finished.stderr
    name = finished.stderr.split("== dropped database ", 1)[1].split()[0]
    import psycopg

    parts = urlsplit(DATABASE_URL)
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
    ) as connection:
        found = connection.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    assert found == (0,)

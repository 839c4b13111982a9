"""The database setup: PostgreSQL embedded when DATABASE_URL is unset, and one clear line,
not a traceback, when the database cannot be used."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from exomars_site import database

ROOT = Path(__file__).resolve().parent.parent


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    return subprocess.run(
        command, cwd=ROOT, env=clean | env, capture_output=True, text=True, check=False
    )


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run([sys.executable, "manage.py", *args], {"DEBUG": "1"} | env)


def test_the_suite_runs_on_postgresql():
    assert connection.vendor == "postgresql"


@pytest.mark.django_db
def test_connections_run_without_jit_compilation():
    """The reader pages' subqueries looked expensive enough to the planner to be compiled,
    which cost more than running them (settings.py)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_an_unreachable_database_url_is_one_line():
    result = manage("migrate", env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/tracker"})
    assert result.returncode == 1
    assert result.stderr.startswith("The database in DATABASE_URL cannot be reached")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_database_url_of_another_engine_is_refused():
    result = manage("check", env={"DATABASE_URL": "sqlite:///db.sqlite3"})
    assert result.returncode == 1
    assert "DATABASE_URL must name a PostgreSQL server" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("message", "says"),
    [
        (
            'connection to server at "db", port 5432 failed: FATAL:  password authentication '
            'failed for user "tracker"',
            "wrong user or password",
        ),
        ('FATAL:  role "nobody" does not exist', "wrong user or password"),
        ('FATAL:  database "tracker" does not exist', "does not exist"),
        ("connection failed: Connection refused", "cannot be reached"),
        ("failed to resolve host 'db.invalid'", "cannot be reached"),
    ],
)
def test_a_connection_problem_is_named(message, says):
    assert says in database.connection_problem(Exception(message))


def test_other_database_errors_keep_their_traceback():
    assert database.connection_problem(Exception('relation "x" does not exist')) is None


def test_the_embedded_server_failing_to_start_is_one_line(tmp_path):
    """A data folder the server cannot use (here: written by a future version) ends a
    command that connects with the server's own reason and where to look, not a traceback."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "PG_VERSION").write_text("99\n")
    result = manage("migrate", env={"EMBEDDED_DATABASE_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.startswith("The embedded PostgreSQL did not start:")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings"],
        [sys.executable, "manage.py", "help"],
        [sys.executable, "manage.py", "check"],
    ],
    ids=["settings", "help", "check"],
)
def test_commands_that_need_no_database_start_no_embedded_server(tmp_path, command):
    """Only a connection starts the embedded server (exomars_site/embedded_postgresql):
    loading settings, `help` or `check` leaves its folder untouched, not even a lock."""
    result = run(
        command,
        {
            "DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "exomars_site.settings",
            "EMBEDDED_DATABASE_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_embedded_server_is_not_started_with_a_database_url(tmp_path):
    result = run(
        [sys.executable, "-m", "exomars_site.database", "start"],
        {"EMBEDDED_DATABASE_DIR": str(tmp_path), "DATABASE_URL": "postgres://x@127.0.0.1/x"},
    )
    assert result.returncode == 0
    assert "not used" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_the_socket_stays_within_the_path_limit(monkeypatch, tmp_path):
    monkeypatch.setattr(database, "ROOT", tmp_path / ("deep" * 30))
    socket = database.socket_dir() / f".s.PGSQL.{database.PORT}"
    assert len(str(socket)) <= database.SOCKET_PATH_LIMIT


def test_production_never_falls_back_on_the_embedded_server(tmp_path):
    result = manage(
        "check",
        "--deploy",
        env={"DJANGO_ENV": "production", "DEBUG": "0", "EMBEDDED_DATABASE_DIR": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "DATABASE_URL is not set; it is required with DJANGO_ENV=production" in result.stderr
    assert list(tmp_path.iterdir()) == []

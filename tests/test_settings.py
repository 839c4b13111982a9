"""Settings come from the environment and refuse an unsafe production start."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    leave_out = {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in leave_out}
    return subprocess.run(
        command,
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        check=False,
    )


def start(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Load the WSGI application, as gunicorn and runserver do."""
    return run([sys.executable, "-c", "import exomars_site.wsgi"], env)


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = start({"DEBUG": "0", "ALLOWED_HOSTS": "example.org"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_refuses_to_start_without_allowed_hosts_when_debug_is_off():
    result = start({"DEBUG": "0", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": ""})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_it_starts_with_a_secret_key():
    result = start({"DEBUG": "0", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "example.org"})
    assert result.returncode == 0, result.stderr


def test_it_refuses_debug_in_production():
    result = start({"DEBUG": "1", "DJANGO_ENV": "production"})
    assert result.returncode != 0
    assert "DEBUG is on with DJANGO_ENV=production" in result.stderr


def test_it_starts_for_local_use_with_debug_on():
    result = start({"DEBUG": "1"})
    assert result.returncode == 0, result.stderr


def test_the_deploy_check_fails_without_a_secret_key():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy"],
        {"DEBUG": "0", "ALLOWED_HOSTS": "example.org", "DJANGO_ENV": "production"},
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_commands_that_serve_nothing_run_without_secrets():
    result = run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], {})
    assert result.returncode == 0, result.stderr

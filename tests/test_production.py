"""Production configuration: the deploy check passes and every answer carries the headers."""

import datetime
import io
import logging
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client, override_settings
from django.views.debug import technical_500_response
from gunicorn.config import Config

from exomars_site import database
from exomars_site import settings as project_settings
from exomars_site.access_log import RedactingLogger

ROOT = Path(__file__).resolve().parent.parent


def test_the_deploy_check_passes_with_production_settings():
    # The browser tests allow async-unsafe calls in this process; a deployment never does.
    leave_out = {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in leave_out} | {
        "DJANGO_ENV": "production",
        "DEBUG": "0",
        "SECRET_KEY": "a-long-random-production-key-" + "x" * 40,
        "ALLOWED_HOSTS": "tracker.example.org",
        # Production names its server; without one the settings refuse to fall back on the
        # embedded server. The check reaches it (a generated column's check asks the
        # server's version): this run's own server, the embedded one when none is given.
        "DATABASE_URL": os.environ.get("DATABASE_URL") or database.url(),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def production_client(db):
    with override_settings(**project_settings.PRODUCTION_SETTINGS):
        yield Client(headers={"X-Forwarded-Proto": "https"})


def assert_hardened(response) -> None:
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src
    assert "unsafe-eval" not in script_src


def test_a_plain_http_request_is_redirected_to_https(db):
    with override_settings(**project_settings.PRODUCTION_SETTINGS):
        response = Client().get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/admin/login/", "/healthz", "/no-such-page/"]
)
def test_every_kind_of_answer_is_hardened(production_client, path):
    response = production_client.get(path)
    assert response.status_code in {200, 302, 404}
    assert_hardened(response)


def test_a_reader_page_and_its_fragment_are_hardened(production_client, record, stakeholder):
    production_client.force_login(stakeholder)
    page = production_client.get("/")
    fragment = production_client.get("/", headers={"HX-Request": "true"})
    assert page.status_code == fragment.status_code == 200
    assert_hardened(page)
    assert_hardened(fragment)


def test_cookies_are_secure_and_host_only(production_client, stakeholder):
    response = production_client.get("/accounts/login/")
    cookie = response.cookies["__Host-csrftoken"]
    assert cookie["secure"]
    assert cookie["path"] == "/"
    assert not cookie["domain"]


def test_the_health_endpoint_needs_no_login_and_says_nothing(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]


def test_the_health_endpoint_reports_a_dead_database(client, db, monkeypatch):
    class DeadConnection:
        def cursor(self):
            raise OSError("connection refused by 10.0.0.5")

    monkeypatch.setattr("agreements.views.connection", DeadConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert b"10.0.0.5" not in response.content


@pytest.fixture
def stderr_of_the_loggers():
    """What the project's log handlers of a server error write (to stderr in production)."""
    buffer = io.StringIO()
    handlers = [
        handler
        for name in ("django.request", "django", "")
        for handler in logging.getLogger(name).handlers
        if type(handler) is logging.StreamHandler
    ]
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def test_a_server_error_is_logged_with_its_traceback(
    client, stakeholder, record, monkeypatch, stderr_of_the_loggers
):
    def broken(*args, **kwargs):
        raise RuntimeError("the dashboard broke")

    monkeypatch.setattr("agreements.views.render_page", broken)
    client.force_login(stakeholder)
    client.raise_request_exception = False

    response = client.get("/")

    assert response.status_code == 500
    logged = stderr_of_the_loggers.getvalue()
    assert "Internal Server Error: /" in logged
    assert "Traceback (most recent call last)" in logged
    assert "RuntimeError: the dashboard broke" in logged


def test_a_missing_page_is_not_logged_as_an_error(client, stakeholder, stderr_of_the_loggers):
    client.force_login(stakeholder)
    assert client.get("/no-such-page/").status_code == 404
    assert stderr_of_the_loggers.getvalue() == ""


def test_a_token_in_the_path_of_a_server_error_is_not_logged(
    client, manager, monkeypatch, stderr_of_the_loggers
):
    def broken(token):
        raise RuntimeError("the calendar broke")

    monkeypatch.setattr("agreements.feeds.feed_user", broken)
    client.raise_request_exception = False

    response = client.get("/feeds/milestones/s3cret-feed-token.ics")

    assert response.status_code == 500
    logged = stderr_of_the_loggers.getvalue()
    assert "Internal Server Error: /feeds/milestones/[token]" in logged
    assert "s3cret-feed-token" not in logged


def test_the_access_log_names_no_token():
    logger = RedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/unsubscribe/s3cret-unsubscribe:token/",
        "PATH_INFO": "/unsubscribe/s3cret-unsubscribe:token/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://tracker.example.org/feeds/changes/s3cret-feed-token/",
    }
    response = SimpleNamespace(status="200 OK", headers=[], sent=512)
    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ, datetime.timedelta())

    line = logger.cfg.access_log_format % logger.atoms_wrapper_class(atoms)

    assert '"POST /unsubscribe/[token]/ HTTP/1.1" 200' in line
    assert "/feeds/changes/[token]/" in line
    assert "s3cret" not in line
    assert (
        "--logger-class exomars_site.access_log.RedactingLogger" in (ROOT / "Makefile").read_text()
    )


def test_the_debug_page_hides_database_urls(rf, settings):
    settings.DEBUG = True
    # Split, so that the page's excerpt of this very code does not show the whole secret.
    settings.SENTRY_DSN = "https://public:s3cret" + "-dsn@errors.example.org/1"
    request = rf.get("/", DATABASE_URL="postgres://tracker:s3cret" + "-db@db/tracker")
    try:
        raise RuntimeError("something broke")
    except RuntimeError:
        response = technical_500_response(request, *sys.exc_info())

    page = response.content.decode()
    assert "something broke" in page
    for secret in ("s3cret" + "-db", "s3cret" + "-dsn"):
        assert secret not in page
    assert "DATABASE_URL" in page  # named, its value hidden


def test_reader_pages_are_kept_by_no_shared_cache(client, stakeholder, record):
    client.force_login(stakeholder)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get("/agreements/", headers=headers)
        assert response.status_code == 200
        assert "private" in response["Cache-Control"]

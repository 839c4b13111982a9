"""End-to-end tests in Debian's Chromium, driven by Playwright, against a live server.

Playwright's own browser download cannot work on these machines, so the tests launch
/usr/bin/chromium (installed by .ci/run). Without it they are skipped on a laptop and
fail in CI, where a skipped browser suite would hide a broken page.
"""

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page

from tests.conftest import PASSWORD, Record, make_user

# Playwright's sync API runs an event loop in the test thread; the test's own database
# work is ordinary synchronous code and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine has no network beyond the package registries; without these Chromium
    # keeps trying to reach Google's services.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)
            if not os.path.exists(CHROMIUM):
                if os.environ.get("CI"):
                    # An xfail would leave the run green; a missing browser must not.
                    raise pytest.UsageError(f"CI: Chromium missing at {CHROMIUM}")
                item.add_marker(pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_FLAGS,
        "headless": True,
    }


@pytest.fixture
def console_errors(page: Page) -> Iterator[list[str]]:
    """Console errors and uncaught exceptions; a CSP violation is a console error."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield errors


@pytest.fixture
def browser_record(transactional_db) -> Record:
    editor = make_user("editor", group="Editors", staff=True)
    return Record(editor)


def log_in(page: Page, server_url: str, username: str, password: str) -> None:
    """Log in through the login form, as a person would, and land on the dashboard."""
    page.goto(f"{server_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server_url}/")


@pytest.fixture
def logged_in_page(page: Page, live_server, browser_record, console_errors) -> Page:
    """A stakeholder's browser, logged in through the login form."""
    make_user("stakeholder", group="Stakeholders")
    log_in(page, live_server.url, "stakeholder", PASSWORD)
    return page


def set_marker(page: Page) -> None:
    """Mark the current document; a full page load throws the mark away, an htmx swap keeps it."""
    page.evaluate("window.__marker = 1")


def still_has_marker(page: Page) -> bool:
    return page.evaluate("window.__marker === 1")

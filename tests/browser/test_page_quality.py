"""Every page, in Chromium: no console error (a CSP violation is one) and no serious or
critical accessibility violation found by axe-core."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.conftest import Record

# Reader pages of the small record, by the name a failure reports.
READER_PAGES = {
    "dashboard": lambda record: "/",
    "agreement_list": lambda record: "/agreements/?q=exomars",
    "agreement_detail": lambda record: record.agreement.get_absolute_url(),
    "clause_detail": lambda record: record.clause.get_absolute_url(),
    "clause_compare": lambda record: f"/clauses/{record.clause.pk}/compare/",
    "position_grid": lambda record: f"/agreements/{record.agreement.slug}/positions/",
    "topic_list": lambda record: "/topics/",
    "topic_detail": lambda record: record.topic.get_absolute_url(),
    "programme_detail": lambda record: record.programme.get_absolute_url(),
    "timeline": lambda record: "/timeline/",
    "search": lambda record: "/search/?q=launch",
    "subscriptions": lambda record: "/subscriptions/",
    "briefing": lambda record: "/briefing/",
    "password_change": lambda record: "/accounts/password_change/",
}

SEVERE = {"serious", "critical"}


def severe_violations(page: Page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [
        f"{violation['id']} ({violation['impact']}): "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in violations
        if violation["impact"] in SEVERE
    ]


def open_reader_page(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, f"{url} answered {response.status}"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.wait_for_load_state("networkidle")


# One test visits every page rather than one test per page: each test pays for a fresh
# database, a login and a flush, and the failure message names every failing page anyway.


def test_no_reader_page_logs_a_console_error(
    logged_in_page: Page, live_server, browser_record, console_errors
):
    errors_by_page = {}
    for name, path in READER_PAGES.items():
        seen = len(console_errors)
        open_reader_page(logged_in_page, live_server.url + path(browser_record))
        if console_errors[seen:]:
            errors_by_page[name] = console_errors[seen:]

    assert errors_by_page == {}


def test_no_reader_page_has_a_serious_accessibility_violation(
    logged_in_page: Page, live_server, browser_record
):
    violations_by_page = {}
    for name, path in READER_PAGES.items():
        open_reader_page(logged_in_page, live_server.url + path(browser_record))
        if violations := severe_violations(logged_in_page):
            violations_by_page[name] = violations

    assert violations_by_page == {}


def test_login_page_logs_no_console_error_and_passes_axe(page: Page, live_server, console_errors):
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert severe_violations(page) == []

    # And with the error a failed attempt shows.
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert severe_violations(page) == []

    assert console_errors == []


def test_htmx_swaps_log_no_console_error_and_stay_accessible(
    logged_in_page: Page, live_server, browser_record: Record, console_errors
):
    page = logged_in_page
    page.goto(f"{live_server.url}/agreements/")
    page.get_by_label("Search agreements").press_sequentially("exo")
    expect(page).to_have_url(re.compile(r"q=exo"))
    assert severe_violations(page) == []

    page.goto(live_server.url + browser_record.agreement.get_absolute_url())
    page.get_by_role("checkbox", name=re.compile(r"^Draft")).check()
    expect(page).to_have_url(re.compile(r"clause_status=draft"))
    assert severe_violations(page) == []

    assert console_errors == []

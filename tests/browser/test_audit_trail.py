"""The audit trail in Chromium: an editor changes a clause in the admin with a reason and
finds it in the clause's field-level history and in the trail; both pages pass axe and log
no console error (a CSP violation is one)."""

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, Record

from .conftest import log_in
from .test_page_quality import severe_violations


def edit_clause_in_the_admin(page: Page, server_url: str, record: Record) -> None:
    page.goto(f"{server_url}/admin/agreements/clause/{record.clause.pk}/change/")
    page.get_by_label("Title:").fill("Proton-M launchers")
    page.get_by_role("textbox", name="Text:", exact=True).fill(
        "Roscosmos provides two Proton-M launchers, for the 2016 and the 2018 missions."
    )
    page.get_by_label("Reason for the change:").fill("Launcher named as in the draft")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.get_by_role("heading", name="Field-level history")).to_be_visible()


def test_an_edit_shows_in_the_history_and_the_trail(
    page: Page, live_server, browser_record: Record, console_errors
):
    log_in(page, live_server.url, "editor", PASSWORD)
    edit_clause_in_the_admin(page, live_server.url, browser_record)
    history = page.locator(".audit-history")
    expect(history).to_contain_text("Launcher named as in the draft")
    expect(history).to_contain_text("Proton-M launchers")
    assert severe_violations(page) == []

    page.goto(f"{live_server.url}/admin/audit-trail/?kind=clause")
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    expect(page.locator(".audit-edits")).to_contain_text("Launcher named as in the draft")
    assert severe_violations(page) == []
    assert console_errors == []

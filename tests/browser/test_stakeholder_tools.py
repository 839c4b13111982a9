"""Stakeholders' own tools in Chromium: the API's docs under the site's security policy, a
personal token made and revoked in place, and the briefing printed from the browser."""

import io
import re

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.conftest import set_marker, still_has_marker


def test_the_api_docs_run_under_the_security_policy(
    logged_in_page: Page, live_server, console_errors
):
    page = logged_in_page
    page.goto(f"{live_server.url}/api/docs/")
    # Swagger UI draws the operations from the schema, fetched with the session.
    expect(page.get_by_text("/api/v1/clauses/", exact=True).first).to_be_visible(timeout=15000)
    # Trying an operation out sends the session's request and shows the answer.
    page.get_by_text("/api/v1/clauses/", exact=True).first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    status = page.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text("200")
    page.wait_for_load_state("networkidle")
    assert console_errors == []  # a refused script, style or fetch would be one


def test_a_token_is_made_shown_once_and_revoked_in_place(
    logged_in_page: Page, live_server, console_errors
):
    page = logged_in_page
    page.goto(f"{live_server.url}/subscriptions/")
    set_marker(page)
    page.get_by_label("Name").fill("budget sheet")
    page.get_by_role("button", name="Make a token").click()
    secret = page.locator(".token-secret")
    expect(secret).to_have_text(re.compile(r"^trk_"))
    assert still_has_marker(page)  # swapped in place by htmx

    answer = page.request.get(
        f"{live_server.url}/api/v1/agreements/",
        headers={"Authorization": f"Bearer {secret.text_content()}"},
    )
    assert answer.ok

    page.get_by_role("button", name="Revoke the token “budget sheet”").click()
    expect(page.get_by_text("is revoked; it no longer works")).to_be_visible()
    expect(page.locator(".token-secret")).to_have_count(0)
    assert still_has_marker(page)
    assert console_errors == []


def test_the_briefing_page_prints_on_one_a4_sheet(
    logged_in_page: Page, live_server, console_errors
):
    page = logged_in_page
    page.goto(f"{live_server.url}/briefing/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Briefing")
    printed = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    assert len(printed.pages) == 1
    text = printed.pages[0].extract_text()
    assert "ExoMars cooperation" in text
    assert "Log out" not in text and "Download as a PDF" not in text  # the screen's parts
    assert console_errors == []

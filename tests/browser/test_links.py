"""What holds it up, in Chromium (issue 12): the Waiting on panel, /blocked/ filtered in
place, and axe on both with links in them."""

import re

import pytest
from playwright.sync_api import Page, expect

from agreements import services
from agreements.models import LinkKind
from tests.conftest import Record

from .conftest import set_marker, still_has_marker
from .test_page_quality import open_reader_page, severe_violations


@pytest.fixture
def linked(browser_record: Record) -> Record:
    record = browser_record
    services.record_link(record.agreement, LinkKind.BLOCKED_BY, record.potential, by=record.editor)
    services.record_link(record.potential, LinkKind.BLOCKED_BY, record.topic, by=record.editor)
    services.record_link(record.clause, LinkKind.BLOCKED_BY, record.topic, by=record.editor)
    services.record_link(record.clause, LinkKind.PACKAGE, record.second_clause, by=record.editor)
    return record


def test_the_agreement_page_shows_what_it_waits_on(logged_in_page: Page, live_server, linked):
    page = logged_in_page
    page.goto(f"{live_server.url}/agreements/exomars-cooperation/")
    waiting = page.locator("section", has=page.get_by_role("heading", name="Waiting on"))
    expect(waiting.get_by_role("link", name="Science Programme Committee")).to_be_visible()
    expect(waiting).to_contain_text("Lifted when the money is secured.")
    path = page.locator("section", has=page.get_by_role("heading", name="Path to signature"))
    expect(path.get_by_role("listitem")).to_have_count(3)  # topic, money, signature
    expect(path.get_by_role("listitem").first).to_contain_text("Juice cooperation")


def test_it_filters_what_is_blocked_in_place(logged_in_page: Page, live_server, linked):
    page = logged_in_page
    page.goto(f"{live_server.url}/blocked/")
    results = page.locator("#results")
    expect(results.get_by_role("row")).to_have_count(4)  # a header and three blockers
    set_marker(page)

    page.locator("fieldset", has_text="Blocked record").get_by_role(
        "checkbox", name="Clause"
    ).check()

    expect(results.get_by_role("row")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"kind=clause"))
    assert still_has_marker(page)


def test_the_link_pages_pass_axe(logged_in_page: Page, live_server, linked):
    pages = {
        "agreement": "/agreements/exomars-cooperation/",
        "clause": f"/clauses/{linked.clause.pk}/",
        "topic": "/topics/juice/",
        "blocked": "/blocked/",
        "blocked filtered": "/blocked/?kind=clause&by=topic",
        "nothing blocked": "/blocked/?kind=milestone",
    }
    violations = {}
    for name, path in pages.items():
        open_reader_page(logged_in_page, live_server.url + path)
        if found := severe_violations(logged_in_page):
            violations[name] = found
    assert violations == {}

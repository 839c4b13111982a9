"""The negotiation's pages in Chromium: the position grid filtered in place, the redline's
inline and side-by-side views, and axe on both with data in them."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Negotiation, Record

from .conftest import set_marker, still_has_marker
from .test_page_quality import open_reader_page, severe_violations


@pytest.fixture
def negotiation(browser_record: Record) -> Negotiation:
    return Negotiation(browser_record)


def test_it_filters_the_grid_by_level_in_place(logged_in_page: Page, live_server, negotiation):
    page = logged_in_page
    page.goto(f"{live_server.url}/agreements/exomars-cooperation/positions/")
    grid = page.locator("#grid")
    expect(grid.get_by_role("link", name="Proton launchers")).to_be_visible()
    set_marker(page)

    page.get_by_role("checkbox", name=re.compile(r"^Reserved")).check()

    expect(grid.get_by_role("link", name="Proton launchers")).to_have_count(0)
    expect(grid.get_by_role("link", name="Orbiter instruments")).to_be_visible()
    expect(page).to_have_url(re.compile(r"level=reserved"))
    assert still_has_marker(page)


def test_it_toggles_the_redline_between_inline_and_side_by_side(
    logged_in_page: Page, live_server, negotiation
):
    page = logged_in_page
    page.goto(f"{live_server.url}/clauses/{negotiation.record.clause.pk}/")
    page.get_by_role("link", name="Compare the last two versions").click()
    comparison = page.locator("#comparison")
    expect(comparison.locator("ins").first).to_contain_text("another for 2018")
    expect(comparison.locator(".redline-sides")).to_have_count(0)

    page.get_by_role("link", name="Side by side").click()

    expect(page).to_have_url(re.compile(r"view=side"))
    expect(comparison.get_by_role("heading", name="Version 1")).to_be_visible()
    expect(comparison.get_by_role("heading", name="Version 2")).to_be_visible()
    page.get_by_role("link", name="Inline").click()
    expect(comparison.locator(".redline-sides")).to_have_count(0)


def test_the_negotiation_pages_pass_axe(logged_in_page: Page, live_server, negotiation):
    clause = negotiation.record.clause.pk
    pages = {
        "grid": "/agreements/exomars-cooperation/positions/",
        "grid as of": "/agreements/exomars-cooperation/positions/?as_of=2012-11-12",
        "clause": f"/clauses/{clause}/",
        "redline": f"/clauses/{clause}/compare/",
        "side by side": f"/clauses/{clause}/compare/?view=side",
    }
    violations = {}
    for name, path in pages.items():
        open_reader_page(logged_in_page, live_server.url + path)
        if found := severe_violations(logged_in_page):
            violations[name] = found
    assert violations == {}

"""What a stakeholder does in the browser: log in, search, filter, page, go back.

"Without a page load" is checked with a marker set on `window`: a full navigation
throws it away, an htmx swap keeps it.
"""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from agreements import services
from agreements.models import Agreement, Clause, StatusChange
from tests.conftest import PASSWORD, Record, make_user

from .conftest import set_marker, still_has_marker


@pytest.fixture
def lunar(browser_record: Record) -> Agreement:
    """A second shared agreement, so that a search or filter has something to leave out."""
    return browser_record.create(
        Agreement(title="Lunar robotics framework", slug="lunar-robotics", summary="Rovers.")
    )


def test_it_logs_a_stakeholder_in_through_the_form(page: Page, live_server, browser_record):
    make_user("stakeholder", group="Stakeholders")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    page.get_by_label("Username").fill("stakeholder")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Where the negotiation stands")
    expect(page.get_by_role("rowheader", name="ExoMars cooperation")).to_be_visible()


def test_it_searches_agreements_as_you_type_without_a_page_load(
    logged_in_page: Page, live_server, lunar
):
    page = logged_in_page
    page.goto(f"{live_server.url}/agreements/")
    results = page.locator("#results")
    expect(results.get_by_role("link", name="ExoMars cooperation")).to_be_visible()
    set_marker(page)

    page.get_by_label("Search agreements").press_sequentially("lunar")

    expect(results.get_by_role("link", name="Lunar robotics framework")).to_be_visible()
    expect(results.get_by_role("link", name="ExoMars cooperation")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/agreements/\?(.*&)?q=lunar"))
    assert still_has_marker(page)


def test_it_filters_agreements_by_status_in_place(
    logged_in_page: Page, live_server, browser_record: Record, lunar
):
    services.change_status(
        lunar, to=Agreement.Status.SIGNED, by=browser_record.editor, no_source_yet=True
    )
    page = logged_in_page
    page.goto(f"{live_server.url}/agreements/")
    set_marker(page)

    page.get_by_role("checkbox", name="Signed", exact=True).check()

    results = page.locator("#results")
    expect(results.get_by_role("link", name="ExoMars cooperation")).to_have_count(0)
    expect(results.get_by_role("link", name="Lunar robotics framework")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/agreements/\?(.*&)?status=signed"))
    assert still_has_marker(page)


def test_it_filters_clauses_by_status_in_place(
    logged_in_page: Page, live_server, browser_record: Record
):
    services.change_status(
        browser_record.clause, to=Clause.Status.SIGNED, by=browser_record.editor, no_source_yet=True
    )
    page = logged_in_page
    page.goto(f"{live_server.url}/agreements/{browser_record.agreement.slug}/")
    clauses = page.locator("#clauses")
    expect(clauses.get_by_role("link", name="Orbiter instruments")).to_be_visible()
    set_marker(page)

    page.get_by_role("checkbox", name=re.compile(r"^Signed")).check()

    expect(clauses.get_by_role("link", name="Orbiter instruments")).to_have_count(0)
    expect(clauses.get_by_role("link", name="Proton launchers")).to_be_visible()
    expect(page).to_have_url(re.compile(r"clause_status=signed"))
    assert still_has_marker(page)


def test_it_loads_more_of_the_timeline_without_a_page_load(
    logged_in_page: Page, live_server, browser_record: Record
):
    # The record has about ten changes; forty more make a second page of 25.
    clause = browser_record.second_clause
    for number in range(40):
        to = Clause.Status.PENDING if number % 2 == 0 else Clause.Status.DRAFT
        services.change_status(clause, to=to, by=browser_record.editor, note=f"Round {number}")
    stakeholder = User.objects.get(username="stakeholder")
    total = StatusChange.objects.visible_to(stakeholder).count()
    assert 25 < total <= 50
    page = logged_in_page
    page.goto(f"{live_server.url}/timeline/")
    rows = page.locator("#results ol.changes > li:not(.more)")
    expect(rows).to_have_count(25)
    expect(page.get_by_text("Round 0", exact=True)).to_have_count(0)
    set_marker(page)

    page.get_by_role("link", name="Load more").click()

    expect(rows).to_have_count(total)
    expect(page.get_by_text("Round 0", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)
    assert still_has_marker(page)


def test_it_restores_the_filtered_list_when_going_back(logged_in_page: Page, live_server, lunar):
    page = logged_in_page
    page.goto(f"{live_server.url}/agreements/")
    page.get_by_label("Search agreements").press_sequentially("lunar")
    results = page.locator("#results")
    expect(results.get_by_role("link", name="ExoMars cooperation")).to_have_count(0)
    page.get_by_role("checkbox", name="Draft", exact=True).check()
    expect(page).to_have_url(re.compile(r"q=lunar.*status=draft"))

    results.get_by_role("link", name="Lunar robotics framework").click()
    expect(page).to_have_url(f"{live_server.url}/agreements/lunar-robotics/")
    page.go_back()

    expect(page).to_have_url(re.compile(r"/agreements/\?(.*&)?q=lunar.*status=draft"))
    expect(page.get_by_label("Search agreements")).to_have_value("lunar")
    expect(page.get_by_role("checkbox", name="Draft", exact=True)).to_be_checked()
    expect(results.get_by_role("link", name="Lunar robotics framework")).to_be_visible()
    expect(results.get_by_role("link", name="ExoMars cooperation")).to_have_count(0)


def test_it_sends_an_expired_session_to_the_login_page(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto(f"{live_server.url}/agreements/")
    page.context.clear_cookies()

    page.get_by_label("Search agreements").press_sequentially("exo")

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=(/|%2F)agreements(/|%2F)"))
    # A whole login page, not a login form swapped into the results.
    expect(page.get_by_role("heading", name="Log in")).to_have_count(1)
    expect(page.locator("#results")).to_have_count(0)


@pytest.mark.parametrize("path", ["/", "/agreements/exomars-cooperation/"])
def test_it_fits_a_360_pixel_screen(logged_in_page: Page, live_server, path):
    page = logged_in_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 361, f"{path} scrolls sideways: {width} px wide"

"""At 360 px the navigation folds into a Menu that opens without JavaScript; the focus ring
stands out at 3:1 or more; after an htmx form error, focus is on the error summary."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD, make_user

from .conftest import log_in
from .test_page_quality import severe_violations


def luminance(rgb: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", rgb)[:3])

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_focus_ring_has_3_to_1_against_the_page(logged_in_page: Page):
    page = logged_in_page
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand
    ring = page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return {outline: style.outlineColor, width: style.outlineWidth,
                    page: getComputedStyle(document.body).backgroundColor};
        }"""
    )
    assert ring["width"] == "3px"
    assert contrast(ring["outline"], ring["page"]) >= 3, ring


@pytest.mark.parametrize("javascript", [True, False], ids=["with js", "without js"])
def test_at_360_px_the_navigation_is_a_menu(
    browser: Browser, live_server, browser_record, javascript
):
    make_user("stakeholder", group="Stakeholders")
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, java_script_enabled=javascript
    )
    page = context.new_page()
    log_in(page, live_server.url, "stakeholder", PASSWORD)
    header = page.locator(".site-header")
    links = page.locator(".menu a", has_text="Timeline")
    expect(links).to_be_hidden()
    expect(page.locator(".nav-wide")).to_be_hidden()
    # The header takes little of the first screen while folded.
    assert header.bounding_box()["height"] < 740 / 6
    page.get_by_text("Menu", exact=True).click()
    expect(links).to_be_visible()
    links.click()
    expect(page).to_have_url(f"{live_server.url}/timeline/")
    if javascript:
        assert severe_violations(page) == []
    context.close()


def test_after_an_htmx_form_error_focus_is_on_the_error_summary(logged_in_page: Page, live_server):
    page = logged_in_page
    page.goto(f"{live_server.url}/subscriptions/")
    page.get_by_label("Daily").check()
    page.get_by_label("Only what I choose").check()  # and nothing chosen: an error
    page.get_by_role("button", name="Save", exact=True).click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert severe_violations(page) == []

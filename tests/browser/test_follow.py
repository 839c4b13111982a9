"""The Follow button in Chromium: with htmx it swaps in place (no page load) to
"Following · Stop following"; without JavaScript the form posts and the page comes back
with the message. Both pass axe and log no console error (a CSP violation is one)."""

from playwright.sync_api import Browser, Page, expect

from agreements.models import Subscription
from tests.conftest import PASSWORD, Record, make_user

from .conftest import log_in, set_marker, still_has_marker
from .test_page_quality import severe_violations


def test_following_swaps_the_button_in_place(
    logged_in_page: Page, live_server, browser_record: Record, console_errors
):
    page = logged_in_page
    page.goto(f"{live_server.url}{browser_record.agreement.get_absolute_url()}")
    assert severe_violations(page) == []
    set_marker(page)

    page.get_by_role("button", name="Follow", exact=True).click()

    expect(page.locator("#follow .following")).to_have_text("Following")
    expect(page.get_by_role("button", name="Stop following")).to_be_visible()
    expect(page.locator("#follow [role=status]")).to_contain_text("Weekly on Monday")
    assert still_has_marker(page)  # swapped by htmx, not a page load
    assert severe_violations(page) == []

    page.get_by_role("button", name="Stop following").click()
    expect(page.get_by_role("button", name="Follow", exact=True)).to_be_visible()
    assert still_has_marker(page)
    assert Subscription.objects.get(user__username="stakeholder").frequency == "off"
    assert console_errors == []


def test_following_works_without_javascript(browser: Browser, live_server, browser_record: Record):
    make_user("manager", group="Managers")
    Subscription.objects.create(
        user=make_user("other", group="Managers"), frequency="daily", follows_everything=True
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, "manager", PASSWORD)
    page.goto(f"{live_server.url}{browser_record.topic.get_absolute_url()}")

    page.get_by_role("button", name="Follow", exact=True).click()

    expect(page).to_have_url(f"{live_server.url}{browser_record.topic.get_absolute_url()}")
    expect(page.locator(".messages")).to_contain_text(f"You follow “{browser_record.topic.title}”")
    expect(page.get_by_role("button", name="Stop following")).to_be_visible()
    context.close()


def test_a_digest_about_everything_offers_only_this(
    logged_in_page: Page, live_server, browser_record: Record, console_errors
):
    Subscription.objects.create(
        user=make_user("manager", group="Managers"), frequency="daily", follows_everything=True
    )
    page = logged_in_page
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server.url, "manager", PASSWORD)
    page.goto(f"{live_server.url}{browser_record.agreement.get_absolute_url()}")
    expect(page.locator("#follow")).to_contain_text("follows everything you can see")
    assert severe_violations(page) == []

    page.get_by_role("button", name="Only follow this").click()

    expect(page.get_by_role("button", name="Stop following")).to_be_visible()
    expect(page.locator("#follow [role=status]")).to_contain_text("now follows only")
    assert console_errors == []

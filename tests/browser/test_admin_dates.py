"""The admin's time-zone note ("Note: Enter times in the Europe/Paris timezone. (You are 8
hours ahead.)") belongs to fields with a time of day: a date-only field has no time to
convert, and there the note only alarms (issue 17). Seen from a browser in Tokyo."""

from playwright.sync_api import Browser, expect

from tests.conftest import PASSWORD, Record, make_user

from .conftest import log_in


def test_date_fields_carry_no_time_zone_note_and_date_times_keep_it(
    browser: Browser, live_server, browser_record: Record
):
    make_user("root", staff=True, is_superuser=True)
    # Tokyo is 8 hours ahead of Paris in winter, 7 in summer: never the server's offset.
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "root", PASSWORD)

    # A milestone's date: a calendar, and no note.
    page.goto(f"{live_server.url}/admin/agreements/milestone/add/")
    expect(page.locator("#id_happens_on + .datetimeshortcuts")).to_have_count(1)
    expect(page.locator(".timezonewarning")).to_have_count(0)

    # A user's "date joined" is a date and a time: the note stays, once.
    user = make_user("someone")
    page.goto(f"{live_server.url}/admin/auth/user/{user.pk}/change/")
    expect(page.locator("#id_date_joined_0 + .datetimeshortcuts")).to_have_count(1)
    expect(page.locator(".timezonewarning")).to_have_count(2)  # last login, date joined
    expect(page.locator(".timezonewarning").first).to_contain_text("hours ahead")
    assert errors == []
    context.close()

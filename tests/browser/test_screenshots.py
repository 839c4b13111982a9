"""The README's screenshots, taken from the demo data: `make screenshots`.

Skipped in the normal suite so that running the tests does not rewrite the PNGs.
"""

import datetime
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import Page, expect

from agreements import services
from agreements.demo import demo_password
from agreements.models import Clause, ClauseVersion, Party

from .conftest import log_in

DEMO_AS_OF = datetime.date(2012, 11, 26)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    not os.environ.get("SCREENSHOTS"), reason="set SCREENSHOTS=1 (make screenshots)"
)


def test_it_takes_the_readme_screenshots_of_the_demo(
    page: Page, live_server, transactional_db, console_errors, settings
):
    settings.TRACKER_AS_OF = DEMO_AS_OF  # as `make demo` replays it
    call_command("load_demo", "--force", stdout=open(os.devnull, "w"))  # noqa: SIM115
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server.url, "stakeholder", demo_password())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    expect(page.get_by_role("heading", level=1)).to_have_text("Where the negotiation stands")
    page.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)

    page.goto(f"{live_server.url}/agreements/exomars-cooperation/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("ExoMars")
    page.screenshot(path=SCREENSHOTS / "agreement.png", full_page=True)

    page.goto(f"{live_server.url}/agreements/exomars-cooperation/positions/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Positions")
    page.screenshot(path=SCREENSHOTS / "positions.png", full_page=True)

    # The demo's clauses have one text each (the joint draft); the redline is shown on an
    # illustrative counter-proposal, added here only, not part of the demo's facts.
    clause = Clause.objects.get(agreement__slug="exomars-cooperation", reference="3")
    services.add_clause_version(
        clause,
        text=(
            "Roscosmos develops the module that takes the 2018 mission down to the surface "
            "of Mars, and ESA funds and develops its descent camera."
        ),
        by=User.objects.get(username="editor"),
        proposed_by=Party.objects.get(slug="esa"),
        kind=ClauseVersion.Kind.COUNTER_PROPOSAL,
    )
    page.goto(f"{live_server.url}/clauses/{clause.pk}/compare/")
    expect(page.locator("#comparison ins").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "redline.png", full_page=True)
    page.goto(f"{live_server.url}/clauses/{clause.pk}/compare/?view=side")
    page.screenshot(path=SCREENSHOTS / "redline-side-by-side.png", full_page=True)

    # The briefing as printed: its PDF (drawn by WeasyPrint) turned into a picture by
    # pdftoppm (Debian's poppler-utils).
    pdf = page.request.get(f"{live_server.url}/briefing.pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf.body())
        file.flush()
        subprocess.run(
            ["pdftoppm", "-png", "-r", "110", "-singlefile", file.name, SCREENSHOTS / "briefing"],
            check=True,
        )

    assert console_errors == []


def test_it_takes_the_screenshot_of_a_clause_s_field_level_history(
    page: Page, live_server, transactional_db, console_errors
):
    """The demo's first clause, edited twice in the admin with a reason each time."""
    call_command("load_demo", "--force", stdout=open(os.devnull, "w"))  # noqa: SIM115
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server.url, "editor", demo_password())
    page.goto(f"{live_server.url}/admin/agreements/clause/")
    page.get_by_role("link", name="Proton launchers for both launches").click()
    page.get_by_label("Text:").fill(
        "Roscosmos supplies a Proton launch vehicle for the 2016 launch and a second one "
        "for the 2018 launch, each within the launch window ESA sets."
    )
    page.get_by_label("Reason for the change:").fill("Wording agreed at the November meeting")
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_label("Title:").fill("Proton-M launchers for both launches")
    page.get_by_label("Reason for the change:").fill("Launcher named as in the draft")
    page.get_by_role("button", name="Save and continue editing").click()
    history = page.locator(".audit-history")
    expect(history).to_contain_text("Launcher named as in the draft")
    history.screenshot(path=SCREENSHOTS / "field-history.png")
    assert console_errors == []

"""The one-page briefing: a sheet of A4 for a meeting, as a PDF and as a page that prints."""

from __future__ import annotations

import datetime
import io
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from agreements import digests, services
from agreements.models import DigestDelivery, Milestone, Subscription, Visibility

A4 = (595, 842)  # points, as PDF readers measure a page


def pdf_pages(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    for page in reader.pages:
        assert (round(page.mediabox.width), round(page.mediabox.height)) == A4
    return [" ".join(page.extract_text().split()) for page in reader.pages]


@pytest.fixture
def demo(db, settings, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "a demo password for the briefing tests")
    call_command("load_demo", "--force", stdout=StringIO())
    return User.objects.get(username="stakeholder")


def test_the_demo_briefing_is_one_a4_page_naming_what_a_meeting_needs(client, demo):
    client.force_login(demo)
    [page] = pdf_pages(client.get("/briefing.pdf"))
    assert "ExoMars cooperation between ESA and Roscosmos" in page
    assert "Draft approved" in page
    # The funding figures, as on the programme's page: the conservative one first.
    assert "Still uncovered: EUR 230 million counting only secured money" in page
    assert "EUR 60 million if every pledge comes through (of EUR 350 million" in page
    # The open decision and the milestones (all behind us in the demo: the latest ones).
    assert "Decision on Science Programme Committee contribution" in page and "overdue" in page
    assert "ExoMars launch 2016: orbiter" in page
    assert "Lunar robotics" in page
    assert f"for {demo.username}" in page
    assert timezone.localdate().strftime("%Y") in page


def test_an_agreements_briefing_is_one_page_about_it(client, demo):
    client.force_login(demo)
    response = client.get("/agreements/exomars-cooperation/briefing.pdf")
    [page] = pdf_pages(response)
    assert "Briefing: ExoMars cooperation between ESA and Roscosmos" in page
    assert "Lunar robotics" not in page  # topics belong to the whole record's briefing
    assert 'filename="briefing-exomars-cooperation-' in response["Content-Disposition"]


def test_it_names_the_next_milestone_when_one_is_ahead(client, record, stakeholder):
    Milestone.objects.create(
        title="Signature at the ministerial meeting",
        happens_on=timezone.localdate() + datetime.timedelta(days=30),
        agreement=record.agreement,
    )
    client.force_login(stakeholder)
    [page] = pdf_pages(client.get("/briefing.pdf"))
    assert "Next milestones and decisions" in page
    assert "Signature at the ministerial meeting" in page


def test_recent_changes_are_listed(client, record, stakeholder, editor):
    services.change_status(record.clause, to="pending", by=editor)
    client.force_login(stakeholder)
    [page] = pdf_pages(client.get("/briefing.pdf"))
    assert "Proton launchers: Draft → Pending signature" in page


def test_a_stakeholder_never_sees_internal_records(client, record, stakeholder, editor):
    services.change_status(record.internal_clause, to="pending", by=editor)
    client.force_login(stakeholder)
    for url in ("/briefing.pdf", "/briefing/", "/agreements/exomars-cooperation/briefing.pdf"):
        response = client.get(url)
        text = " ".join(pdf_pages(response)) if url.endswith(".pdf") else response.text
        for hidden in ("Side letter", "Fallback position", "Negotiating margin", "Internal"):
            assert hidden not in text, (url, hidden)
    assert client.get("/agreements/side-letter/briefing.pdf").status_code == 404


def test_staff_briefings_mark_internal_records(client, record, editor):
    client.force_login(editor)
    [page] = pdf_pages(client.get("/agreements/exomars-cooperation/briefing.pdf"))
    assert "Internal · This briefing shows records for staff only" in page
    assert "Fallback position on landing module" in page and "INTERNAL" in page


def test_the_page_prints_well(client, record, stakeholder):
    client.force_login(stakeholder)
    response = client.get("/briefing/")
    assert response.status_code == 200
    assert "css/briefing.css" in response.text and "@media print" in open_static("briefing.css")
    assert "<script>" not in response.text
    assert 'href="/briefing.pdf"' in response.text


def open_static(name: str) -> str:
    from django.contrib.staticfiles import finders

    with open(finders.find(f"css/{name}")) as file:
        return file.read()


def test_readers_only(client, record, outsider):
    assert client.get("/briefing.pdf").status_code == 302
    client.force_login(outsider)
    assert client.get("/briefing.pdf").status_code == 403
    assert client.get("/briefing/").status_code == 403


def test_the_pdf_is_drawn_once_per_version_of_the_record(client, record, stakeholder, editor):
    client.force_login(stakeholder)
    first = client.get("/briefing.pdf").content
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/briefing.pdf").content == first
    assert len(captured) <= 4  # session, user, reader and version: no briefing query
    services.change_status(record.clause, to="signed", by=editor, no_source_yet=True)
    assert "Proton launchers: Draft → Signed" in pdf_pages(client.get("/briefing.pdf"))[0]


def test_the_briefing_costs_the_same_queries_with_3_or_300_rows(client, record, stakeholder):
    from tests.test_query_counts import grow

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/briefing/").status_code == 200
        return len([q for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])

    client.force_login(stakeholder)
    client.get("/")
    grow(record, 3)
    few = queries()
    grow(record, 297)
    assert queries() == few
    # Read again, until the record changes: from the page cache, no briefing query.
    assert queries() <= 4


@pytest.mark.parametrize("frequency,linked", [("weekly", True), ("daily", False)])
def test_the_weekly_digest_links_to_the_briefing(record, manager, editor, frequency, linked):
    Subscription.objects.create(
        user=manager,
        frequency=frequency,
        next_due_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    services.change_status(record.clause, to="pending", by=editor)
    digests.plan_due_digests(timezone.now())
    delivery = DigestDelivery.objects.get()
    assert ("/briefing.pdf" in delivery.body_text) is linked
    assert ("/briefing.pdf" in delivery.body_html) is linked


def test_an_internal_programme_draws_no_funding_for_a_stakeholder(client, record, stakeholder):
    record.programme.visibility = Visibility.INTERNAL
    record.programme.save()
    client.force_login(stakeholder)
    [page] = pdf_pages(client.get("/briefing.pdf"))
    assert "Funding of ExoMars" not in page and "EUR 350,000,000" not in page

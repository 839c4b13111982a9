"""The dashboard: where the negotiation stands and what changed, at a glance."""

import datetime
import re

import pytest
from django.utils import timezone

from agreements import services
from agreements.models import Milestone, Programme, Statement, Visibility

INTERNAL_TITLES = [
    "Side letter on launch costs",
    "Negotiating margin",
    "Fallback position on landing module",
    "Reserve we do not talk about",
    "Internal deadline",
]


def agreement_row(content: str, title: str) -> str:
    match = re.search(
        rf"<tr>\s*<th scope=\"row\"><a [^>]*>{title}</a>.*?</th>(.*?)</tr>", content, re.S
    )
    assert match, f"no row for {title}"
    return match.group(1)


def test_it_shows_clause_counts_by_status_per_agreement(record, stakeholder, login):
    services.change_status(record.clause, to="signed", by=record.editor, source=record.source)
    response = login(stakeholder).get("/")
    assert response.status_code == 200
    cells = re.findall(
        r'<td class="number"[^>]*><a [^>]*>(\d+)</a></td>',
        agreement_row(response.content.decode(), "ExoMars cooperation"),
    )
    # draft, pending, signed, withdrawn: the internal third clause is not counted.
    assert cells[:4] == ["1", "0", "1", "0"]


def test_editors_count_internal_clauses_too(record, editor, login):
    response = login(editor).get("/")
    cells = re.findall(
        r'<td class="number"[^>]*><a [^>]*>(\d+)</a></td>',
        agreement_row(response.content.decode(), "ExoMars cooperation"),
    )
    assert cells[:4] == ["3", "0", "0", "0"]


def test_it_shows_topics_with_status_and_next_step(record, stakeholder, login):
    response = login(stakeholder).get("/")
    assert b"Juice cooperation" in response.content
    assert b'<span class="badge status-proposed">Proposed</span>' in response.content
    assert b"Next step: Talk" in response.content


def test_the_funding_bar_shows_what_is_secured_and_what_is_uncovered(record, stakeholder, login):
    response = login(stakeholder).get("/")
    content = response.content.decode()
    assert "<svg" in content and 'class="seg seg-secured"' in content
    assert "Secured: <strong>EUR 30,000,000</strong>" in content
    # 350 in question, 30 secured + 50 potential visible: the internal 10 is not counted.
    assert "<strong>EUR 270 million</strong> if every pledge comes through" in content
    assert "Still uncovered: <strong>EUR 320 million</strong> counting only secured" in content
    funding = Programme.objects.visible_to(stakeholder).with_funding().get(slug="exomars").funding
    assert funding.uncovered_if_all_comes_through == 270_000_000


def test_editors_funding_bar_counts_internal_sources(record, editor, login):
    content = login(editor).get("/").content.decode()
    assert "<strong>EUR 260 million</strong> if every pledge comes through" in content


def test_it_lists_the_next_milestones_only(record, stakeholder, login):
    Milestone.objects.create(
        title="Ministerial meeting",
        happens_on=timezone.localdate() + datetime.timedelta(days=30),
        agreement=record.agreement,
    )
    Milestone.objects.create(
        title="Secret rehearsal",
        happens_on=timezone.localdate() + datetime.timedelta(days=3),
        visibility=Visibility.INTERNAL,
    )
    content = login(stakeholder).get("/").content.decode()
    assert "Ministerial meeting" in content
    assert "Secret rehearsal" not in content
    assert "Launch of the orbiter" not in content  # 2016 is past


def test_it_lists_the_ten_latest_changes_newest_first(record, stakeholder, login):
    for day in range(1, 13):
        to = "pending" if day % 2 else "draft"
        services.change_status(
            record.second_clause,
            to=to,
            by=record.editor,
            effective_on=datetime.date(2013, 1, day),
            note=f"Change on day {day:02}",
        )
    content = login(stakeholder).get("/").content.decode()
    notes = re.findall(r"Change on day (\d\d)", content)
    assert notes == ["12", "11", "10", "09", "08", "07", "06", "05", "04", "03"]


@pytest.mark.parametrize("role", ["stakeholder", "manager"])
def test_readers_never_see_internal_records(record, login, role, request):
    services.change_status(record.internal_clause, to="pending", by=record.editor)
    services.change_status(record.internal_topic, to="in_discussion", by=record.editor)
    content = login(request.getfixturevalue(role)).get("/").content.decode()
    for title in INTERNAL_TITLES:
        assert title not in content


def test_editors_see_internal_records(record, editor, login):
    content = login(editor).get("/").content.decode()
    assert "Side letter on launch costs" in content
    assert "Negotiating margin" in content


def test_users_outside_the_reader_groups_get_403(record, outsider, login):
    assert login(outsider).get("/").status_code == 403


def test_anonymous_is_sent_to_login(client, record):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


def test_anonymous_htmx_request_gets_a_client_redirect(client, record):
    response = client.get("/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_htmx_request_gets_the_latest_changes_fragment(record, stakeholder, login):
    response = login(stakeholder).get("/", headers={"HX-Request": "true"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.strip().startswith('<section id="changes"')
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("header", ["HX-Boosted", "HX-History-Restore-Request"])
def test_boosted_and_history_restore_requests_get_the_whole_page(
    record, stakeholder, login, header
):
    response = login(stakeholder).get("/", headers={"HX-Request": "true", header: "true"})
    assert b"<html" in response.content
    assert "HX-Request" in response["Vary"]


def test_the_full_page_varies_on_hx_request(record, stakeholder, login):
    response = login(stakeholder).get("/")
    assert b"<html" in response.content
    assert "HX-Request" in response["Vary"]


def test_it_answers_get_only(record, stakeholder, login):
    assert login(stakeholder).post("/").status_code == 405


def test_every_hx_get_link_also_has_the_same_href(record, stakeholder, login):
    content = login(stakeholder).get("/").content.decode()
    links = re.findall(r"<a [^>]*hx-get=[^>]*>", content)
    assert links
    for link in links:
        assert re.search(r'href="([^"]+)"', link).group(1) == re.search(
            r'hx-get="([^"]+)"', link
        ).group(1)


PAGES = [
    "/",
    "/agreements/",
    "/agreements/exomars-cooperation/",
    "/topics/",
    "/topics/juice/",
    "/programmes/exomars/",
    "/timeline/",
    "/search/?q=launch",
    "/accounts/password_change/",
]


@pytest.mark.parametrize("url", PAGES)
def test_pages_have_no_inline_script_or_style_and_name_their_landmarks(
    record, stakeholder, login, url
):
    content = login(stakeholder).get(url).content.decode()
    assert " style=" not in content
    assert "hx-on" not in content
    for script in re.findall(r"<script[^>]*>", content):
        assert "src=" in script and "nonce=" in script
    assert "<header" in content and "<nav" in content and '<main id="main"' in content


def test_a_milestone_known_to_the_year_is_upcoming_all_that_year(record):
    from agreements.models import Milestone

    launch = Milestone.objects.get(pk=record.milestone.pk)  # "2016", stored as 1 Jan 2016
    assert launch in Milestone.objects.upcoming(today=datetime.date(2016, 11, 30))
    assert launch not in Milestone.objects.upcoming(today=datetime.date(2017, 1, 1))
    assert launch in Milestone.objects.past(today=datetime.date(2017, 1, 1))


def test_with_nothing_ahead_it_shows_the_most_recent_milestones(record, login, stakeholder):
    # Every milestone of the small record lies in the past.
    page = login(stakeholder).get("/").content.decode()
    assert "No upcoming milestone." in page
    assert "Most recent" in page
    assert record.milestone.title in page
    assert record.internal_milestone.title not in page


def test_a_large_record_shows_the_most_recent_agreements_and_links_to_all(
    record, login, stakeholder
):
    from agreements.models import Agreement

    for number in range(20):
        services.record_creation(
            Agreement(title=f"Annex {number:02}", slug=f"annex-{number:02}"), by=record.editor
        )
    page = login(stakeholder).get("/").content.decode()
    shown = re.findall(r"Annex \d\d", page)
    assert len(set(shown)) == 15
    assert "Annex 19" in shown  # the newest
    assert "All agreements" in page


def test_it_counts_clauses_by_agreement_level(negotiation, stakeholder, login):
    row = agreement_row(login(stakeholder).get("/").content.decode(), "ExoMars cooperation")
    levels = re.findall(r'<td class="number" data-label="Clauses, ([^"]+)">(.*?)</td>', row)[4:]
    shown = {label: re.sub(r"<[^>]+>", "", count) for label, count in levels}
    assert shown == {
        "Agreed": "1",
        "Agreed ad referendum": "0",
        "Reserved": "1",
        "Accepted an earlier text": "0",
        "Open": "0",
    }
    assert 'href="/agreements/exomars-cooperation/positions/?level=agreed"' in row


def test_the_clause_counts_link_to_the_filtered_list(record, stakeholder, login):
    content = login(stakeholder).get("/").content.decode()
    row = agreement_row(content, "ExoMars cooperation")
    assert 'href="/agreements/exomars-cooperation/?clause_status=draft#clauses">2</a>' in row


def test_the_latest_changes_include_new_statements_in_date_order(record, stakeholder, login):
    services.change_status(
        record.second_clause,
        to="pending",
        by=record.editor,
        effective_on=datetime.date(2013, 1, 2),
        note="Sent to the ministers",
    )
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2013, 1, 3),
        summary="Signature expected in the spring.",
        topic=record.topic,
    )
    content = " ".join(login(stakeholder).get("/").content.decode().split())
    latest = content.split('id="changes-heading"')[1]

    said = latest.index("Frederic Nordlund (ESA) said: Signature expected in the spring.")
    assert (
        said
        < latest.index("Sent to the ministers")
        < latest.index("The draft still needs signatures.")
    )
    assert record.topic.title in latest[latest.rfind("<li", 0, said) : said]
    assert "Off the record remark." not in content  # the internal statement


def test_the_latest_changes_are_the_ten_newest_of_changes_and_statements(
    record, stakeholder, login
):
    for day in range(1, 7):
        services.change_status(
            record.second_clause,
            to="pending" if day % 2 else "draft",
            by=record.editor,
            effective_on=datetime.date(2013, 1, 2 * day),
            note=f"Change {2 * day:02}",
        )
        Statement.objects.create(
            person=record.speaker,
            said_on=datetime.date(2013, 1, 2 * day - 1),
            summary=f"Said {2 * day - 1:02}",
        )
    content = login(stakeholder).get("/").content.decode()
    assert re.findall(r"(?:Change|Said) (\d\d)", content) == [
        f"{day:02}" for day in range(12, 2, -1)
    ]

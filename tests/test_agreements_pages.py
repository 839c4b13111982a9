"""The agreement list (search, status filter, sort, pages) and the agreement page."""

import datetime
import re

import pytest

from agreements import services
from agreements.models import Agreement, Party, Source, Statement, Visibility


def titles_in(content: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/agreements/[^"]+/">([^<]+)</a></th>', content)


@pytest.fixture
def many(record):
    """A few more shared agreements to filter, sort and page through."""
    created = []
    for title, status in [("Alpha protocol", "signed"), ("Omega memorandum", "approved")]:
        agreement = record.create(Agreement(title=title, slug=title.lower().replace(" ", "-")))
        services.change_status(agreement, to=status, by=record.editor, source=record.source)
        created.append(agreement)
    return created


# The list ------------------------------------------------------------------------------


def test_the_list_shows_shared_agreements_with_status_parties_and_clause_count(
    record, stakeholder, login
):
    content = login(stakeholder).get("/agreements/").content.decode()
    assert titles_in(content) == ["ExoMars cooperation"]
    assert '<span class="badge status-draft">Draft</span>' in content
    assert "ESA, Roscosmos" in content
    assert '<td data-label="Clauses" class="number">2</td>' in content


def test_editors_see_internal_agreements_in_the_list(record, editor, login):
    content = login(editor).get("/agreements/").content.decode()
    assert titles_in(content) == ["ExoMars cooperation", "Side letter on launch costs"]


def test_an_internal_party_is_not_named_to_readers(record, stakeholder, login):
    secret = Party.objects.create(
        name="Unnamed broker", slug="broker", visibility=Visibility.INTERNAL
    )
    record.agreement.parties.add(secret)
    content = login(stakeholder).get("/agreements/").content.decode()
    assert "Unnamed broker" not in content
    assert "ESA, Roscosmos" in content


def test_search_text_filters_by_title_and_summary(record, many, stakeholder, login):
    client = login(stakeholder)
    assert titles_in(client.get("/agreements/?q=memorandum").content.decode()) == [
        "Omega memorandum"
    ]
    summary_words = client.get("/agreements/?q=two+exomars+LAUNCHES").content.decode()
    assert titles_in(summary_words) == ["ExoMars cooperation"]
    assert titles_in(client.get("/agreements/?q=launches+memorandum").content.decode()) == []


def test_search_text_never_finds_internal_agreements(record, stakeholder, login):
    content = login(stakeholder).get("/agreements/?q=side+letter").content.decode()
    assert "Side letter" not in content
    assert "0 agreements" in content


def test_several_statuses_can_be_selected(record, many, stakeholder, login):
    content = login(stakeholder).get("/agreements/?status=signed&status=draft").content.decode()
    assert titles_in(content) == ["Alpha protocol", "ExoMars cooperation"]
    assert 'value="signed" checked' in content
    assert 'value="approved" checked' not in content


def test_an_unknown_status_is_ignored_with_a_notice(record, many, stakeholder, login):
    response = login(stakeholder).get("/agreements/?status=signed&status=bogus")
    assert response.status_code == 200
    assert "Unknown status ignored." in response.content.decode()
    assert titles_in(response.content.decode()) == ["Alpha protocol"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["Alpha protocol", "ExoMars cooperation", "Omega memorandum"]),
        ("-title", ["Omega memorandum", "ExoMars cooperation", "Alpha protocol"]),
        # In the order the statuses run: draft, draft approved, signed.
        ("status", ["ExoMars cooperation", "Omega memorandum", "Alpha protocol"]),
    ],
)
def test_it_sorts(record, many, stakeholder, login, sort, expected):
    content = login(stakeholder).get(f"/agreements/?sort={sort}").content.decode()
    assert titles_in(content) == expected


def test_sorting_by_updated_puts_the_latest_change_first(record, many, stakeholder, login):
    services.change_status(record.agreement, to="approved", by=record.editor)
    content = login(stakeholder).get("/agreements/?sort=updated").content.decode()
    assert titles_in(content)[0] == "ExoMars cooperation"


def updated_of(content: str, title: str) -> str:
    """The Updated cell of an agreement's row in the list."""
    row = content.split(f">{title}</a></th>")[1].split("</tr>")[0]
    return re.findall(r'data-label="Updated"[^>]*><time datetime="([^"]+)"', row)[0]


def test_updated_is_the_day_of_the_last_recorded_change_not_the_last_edit(
    record, stakeholder, login
):
    services.change_status(
        record.clause, to="pending", by=record.editor, effective_on=datetime.date(2013, 2, 14)
    )
    record.agreement.summary = "A typo fixed."
    record.agreement.save()  # moves updated_at to now, and is no recorded change

    content = login(stakeholder).get("/agreements/").content.decode()

    assert updated_of(content, "ExoMars cooperation") == "2013-02-14"


def test_updated_counts_clause_versions_and_positions(negotiation, stakeholder, login):
    record = negotiation.record
    client = login(stakeholder)
    before = updated_of(client.get("/agreements/").content.decode(), "ExoMars cooperation")
    services.record_position(
        record.roscosmos,
        stance="accepts",
        by=record.editor,
        clause=record.second_clause,
        taken_on=datetime.date(2013, 3, 1),
    )
    assert before < "2013-03-01"
    assert updated_of(client.get("/agreements/").content.decode(), "ExoMars cooperation") == (
        "2013-03-01"
    )
    services.add_clause_version(
        record.second_clause,
        text="Roscosmos provides a Proton-M launcher.",
        by=record.editor,
        proposed_on=datetime.date(2013, 3, 5),
    )
    assert updated_of(client.get("/agreements/").content.decode(), "ExoMars cooperation") == (
        "2013-03-05"
    )


def test_updated_says_nothing_of_internal_clauses_to_readers(record, stakeholder, editor, login):
    services.change_status(
        record.internal_clause,
        to="pending",
        by=record.editor,
        effective_on=datetime.date(2013, 4, 1),
    )
    shown = login(stakeholder).get("/agreements/").content.decode()
    assert updated_of(shown, "ExoMars cooperation") < "2013-04-01"
    shown_to_staff = login(editor).get("/agreements/").content.decode()
    assert updated_of(shown_to_staff, "ExoMars cooperation") == "2013-04-01"


def test_sorting_by_updated_follows_the_recorded_changes(record, many, stakeholder, login):
    services.change_status(
        record.clause, to="pending", by=record.editor, effective_on=datetime.date(2013, 2, 14)
    )
    # Edited last, but its last recorded change is older than the others' (today's).
    record.agreement.summary = "A typo fixed."
    record.agreement.save()

    content = login(stakeholder).get("/agreements/?sort=updated").content.decode()

    # The same day: the one edited last first.
    assert titles_in(content) == ["Omega memorandum", "Alpha protocol", "ExoMars cooperation"]


def test_an_unknown_sort_is_a_400_that_says_why(record, stakeholder, login):
    response = login(stakeholder).get("/agreements/?sort=password")
    assert response.status_code == 400
    assert "Sort by: Select a valid choice." in response.content.decode()


@pytest.fixture
def thirty(record):
    Agreement.objects.bulk_create(
        Agreement(title=f"Annex {number:02}", slug=f"annex-{number:02}") for number in range(30)
    )


@pytest.mark.parametrize(
    ("page", "first_title"),
    [
        ("1", "Annex 00"),
        ("2", "Annex 25"),
        ("abc", "Annex 00"),
        ("999999", "Annex 25"),
        ("", "Annex 00"),
    ],
)
def test_pages_are_forgiving(thirty, stakeholder, login, page, first_title):
    response = login(stakeholder).get(f"/agreements/?page={page}")
    assert response.status_code == 200
    assert titles_in(response.content.decode())[0] == first_title


def test_page_links_keep_the_filters_and_carry_htmx(thirty, stakeholder, login):
    content = login(stakeholder).get("/agreements/?q=annex&status=draft").content.decode()
    assert "Page 1 of 2" in content
    link = re.search(r'<a rel="next"[^>]*>', content).group(0)
    assert 'href="/agreements/?q=annex&amp;status=draft&amp;page=2"' in link
    assert 'hx-get="/agreements/?q=annex&amp;status=draft&amp;page=2"' in link
    assert 'hx-target="#results"' in link and 'hx-push-url="true"' in link


def test_an_overlong_search_text_is_shortened_with_a_notice(record, stakeholder, login):
    response = login(stakeholder).get("/agreements/", {"q": "x" * 10_000})
    assert response.status_code == 200
    assert "Search text shortened to its first 200 characters." in response.content.decode()


def test_a_null_character_is_a_400_not_a_500(record, stakeholder, login):
    response = login(stakeholder).get("/agreements/?q=a%00b")
    assert response.status_code == 400


def test_the_search_field_is_an_active_search(record, stakeholder, login):
    content = login(stakeholder).get("/agreements/").content.decode()
    field = re.search(r'<input type="search"[^>]*>', content, re.S).group(0)
    assert 'hx-trigger="input changed delay:300ms, search"' in field
    assert 'hx-target="#results"' in field
    assert 'hx-push-url="true"' in field
    assert 'hx-include="closest form"' in field
    assert '<label for="id_q">' in content


def test_htmx_gets_only_the_results(record, stakeholder, login):
    response = login(stakeholder).get("/agreements/?q=exomars", headers={"HX-Request": "true"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.strip().startswith('<section id="results"')
    assert titles_in(content) == ["ExoMars cooperation"]
    assert "HX-Request" in response["Vary"]


def test_a_bad_parameter_in_an_htmx_request_is_a_400_fragment(record, stakeholder, login):
    response = login(stakeholder).get("/agreements/?sort=x", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert b"<html" not in response.content


def test_a_boosted_request_gets_the_whole_list_page(record, stakeholder, login):
    response = login(stakeholder).get(
        "/agreements/", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert b"<html" in response.content


def test_managers_read_the_list(record, manager, login):
    assert titles_in(login(manager).get("/agreements/").content.decode()) == ["ExoMars cooperation"]


@pytest.mark.parametrize("url", ["/agreements/", "/agreements/exomars-cooperation/"])
def test_outsiders_get_403(record, outsider, login, url):
    assert login(outsider).get(url).status_code == 403


@pytest.mark.parametrize("url", ["/agreements/", "/agreements/exomars-cooperation/"])
def test_anonymous_is_sent_to_login(client, record, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    htmx = client.get(url, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith("/accounts/login/")


# The agreement page ----------------------------------------------------------------------


def test_the_page_shows_parties_status_summary_and_clauses(record, stakeholder, login):
    response = login(stakeholder).get("/agreements/exomars-cooperation/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "ESA, Roscosmos" in content
    assert "Cooperation on the two ExoMars launches." in content
    assert "Proton launchers" in content and "Orbiter instruments" in content
    assert f'href="/clauses/{record.clause.pk}/"' in content
    assert '<td data-label="Obligated party">Roscosmos</td>' in content


def test_it_hides_internal_clauses_from_stakeholders(record, stakeholder, login):
    services.change_status(
        record.internal_clause, to="pending", by=record.editor, note="Keep quiet"
    )
    content = login(stakeholder).get("/agreements/exomars-cooperation/").content.decode()
    assert "Fallback position" not in content
    assert "Keep quiet" not in content
    assert "Reserve we do not talk about" not in content


def test_editors_see_internal_clauses_and_their_history(record, editor, login):
    services.change_status(
        record.internal_clause, to="pending", by=record.editor, note="Keep quiet"
    )
    content = login(editor).get("/agreements/exomars-cooperation/").content.decode()
    assert "Fallback position on landing module" in content
    assert "Keep quiet" in content


def test_clauses_filter_by_status_in_place(record, stakeholder, login):
    services.change_status(record.clause, to="signed", by=record.editor, no_source_yet=True)
    client = login(stakeholder)
    response = client.get(
        "/agreements/exomars-cooperation/?clause_status=signed", headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert "<html" not in content
    assert content.strip().startswith('<div id="clauses"')
    assert "Proton launchers" in content and "Orbiter instruments" not in content
    assert "HX-Request" in response["Vary"]
    full = client.get("/agreements/exomars-cooperation/?clause_status=signed").content.decode()
    assert 'value="signed" checked' in full
    assert 'hx-target="#clauses"' in full


def test_an_unknown_clause_status_is_ignored_with_a_notice(record, stakeholder, login):
    response = login(stakeholder).get("/agreements/exomars-cooperation/?clause_status=lost")
    assert response.status_code == 200
    assert "Unknown status ignored." in response.content.decode()
    assert "Orbiter instruments" in response.content.decode()


def test_it_shows_the_funding_of_its_programme(record, stakeholder, login):
    content = login(stakeholder).get("/agreements/exomars-cooperation/").content.decode()
    assert 'href="/programmes/exomars/"' in content
    assert "<strong>EUR 270 million</strong> if every pledge comes through" in content


def test_an_internal_programme_is_not_shown_on_a_shared_agreement(record, stakeholder, login):
    record.programme.visibility = Visibility.INTERNAL
    record.programme.save()
    content = login(stakeholder).get("/agreements/exomars-cooperation/").content.decode()
    assert "/programmes/exomars/" not in content
    assert "<svg" not in content


def test_it_shows_milestones_and_statements_with_dates_as_precise_as_known(
    record, stakeholder, login
):
    content = login(stakeholder).get("/agreements/exomars-cooperation/").content.decode()
    assert "Launch of the orbiter" in content
    assert ">2016</time>" in content
    assert "The draft still needs signatures." in content
    assert "21 Nov 2012" in content


def test_an_internal_source_is_not_named_to_readers(record, stakeholder, editor, login):
    secret = Source.objects.create(title="Leaked memo", visibility=Visibility.INTERNAL)
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2012, 11, 23),
        summary="Public remark from a private source.",
        agreement=record.agreement,
        source=secret,
    )
    content = login(stakeholder).get("/agreements/exomars-cooperation/").content.decode()
    assert "Public remark from a private source." in content
    assert "Leaked memo" not in content


def test_the_history_covers_the_agreement_and_its_clauses_newest_first(record, stakeholder, login):
    services.change_status(
        record.clause,
        to="pending",
        by=record.editor,
        effective_on=datetime.date(2012, 12, 1),
        note="Sent for signature",
    )
    services.change_status(
        record.agreement,
        to="approved",
        by=record.editor,
        effective_on=datetime.date(2012, 12, 5),
        note="Ministers agree",
    )
    content = login(stakeholder).get("/agreements/exomars-cooperation/").content.decode()
    history = content[content.index("History of the agreement") :]
    assert history.index("Ministers agree") < history.index("Sent for signature")
    assert "Side letter" not in history


def test_an_internal_agreement_is_404_for_stakeholders(record, stakeholder, login):
    assert login(stakeholder).get("/agreements/side-letter/").status_code == 404


def test_an_internal_agreement_is_shown_to_editors(record, editor, login):
    assert login(editor).get("/agreements/side-letter/").status_code == 200


def test_an_unknown_agreement_is_404(record, stakeholder, login):
    assert login(stakeholder).get("/agreements/no-such-thing/").status_code == 404


def test_a_boosted_request_gets_the_whole_agreement_page(record, stakeholder, login):
    response = login(stakeholder).get(
        "/agreements/exomars-cooperation/", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert b"<html" in response.content


def test_a_long_history_shows_the_latest_lines_and_links_to_the_timeline(
    record, login, stakeholder
):
    from agreements import services as status_services

    for _ in range(16):  # 32 changes on top of the creation rows
        status_services.change_status(record.clause, to="pending", by=record.editor)
        status_services.change_status(record.clause, to="draft", by=record.editor)
    page = login(stakeholder).get("/agreements/exomars-cooperation/").content.decode()
    assert "The whole history on the timeline" in page
    assert "/timeline/?agreement=exomars-cooperation" in page

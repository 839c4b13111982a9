"""Search across agreements, clauses, topics, statements and sources."""

import datetime

import pytest
from django.db import connection, transaction

from agreements import search, services
from agreements.models import Clause, Source, Statement, Visibility


def test_it_finds_matches_of_every_kind(record, stakeholder, login):
    Source.objects.create(title="Launch manifest", publisher="Agency")
    Statement.objects.create(
        person=record.speaker,
        said_on=datetime.date(2012, 11, 21),
        summary="Both launches are booked.",
        topic=record.topic,
    )
    services.add_clause_version(
        record.clause, text="Roscosmos provides the launchers for both launches.", by=record.editor
    )
    content = login(stakeholder).get("/search/?q=launches").content.decode()
    assert "<h2>Agreements" in content and "ExoMars cooperation" in content
    assert "<h2>Clauses" in content and f'href="/clauses/{record.clause.pk}/"' in content
    assert "<h2>Statements" in content and 'href="/topics/juice/"' in content
    assert "<mark>" in content


def test_it_finds_sources_and_topics(record, stakeholder, login):
    content = login(stakeholder).get("/search/?q=report").content.decode()
    assert "<h2>Sources" in content and "Report on the draft" in content
    content = login(stakeholder).get("/search/?q=juice").content.decode()
    assert "<h2>Topics" in content and 'href="/topics/juice/"' in content


@pytest.mark.parametrize(
    "query",
    [
        "side letter",
        "cost sharing",
        "fallback landing",
        "margin",
        "off the record",
        "reserve",
        "leaked",
    ],
)
def test_it_never_finds_internal_records_for_stakeholders(record, stakeholder, login, query):
    Source.objects.create(title="Leaked memo", visibility=Visibility.INTERNAL)
    content = login(stakeholder).get("/search/", {"q": query}).content.decode()
    assert "Nothing matches" in content
    for secret in [
        "Side letter",
        "Cost sharing",
        "Fallback",
        "Negotiating margin",
        "Off the record",
        "Leaked memo",
    ]:
        assert secret not in content


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("side letter", "Side letter on launch costs"),
        ("fallback landing", "Fallback position"),
        ("margin", "Negotiating margin"),
        ("off the record", "<h2>Statements"),
    ],
)
def test_editors_find_internal_records(record, editor, login, query, found):
    assert found in login(editor).get("/search/", {"q": query}).content.decode()


def test_matches_are_escaped_before_they_are_marked(record, stakeholder, login):
    Clause.objects.create(
        agreement=record.agreement,
        reference="9",
        title="Odd clause",
        text='Launchers <script>alert("x")</script> <b onmouseover="x()">bold</b> 1 < 2 & 3',
    )
    content = login(stakeholder).get("/search/?q=launchers").content.decode()
    assert "<script>alert" not in content and "<b onmouseover" not in content
    # PostgreSQL's headline drops what looks like a tag; what remains is escaped.
    assert "1 &lt; 2 &amp; 3" in content
    assert "<mark>Launchers</mark>" in content


def test_an_overlong_query_is_shortened_with_a_notice(record, stakeholder, login):
    response = login(stakeholder).get("/search/", {"q": "launch " * 2000})
    assert response.status_code == 200
    assert "Search text shortened to its first 200 characters." in response.content.decode()


@pytest.mark.parametrize(
    "query", ['"unterminated', "-", "a & | ! ( ) :*", "or", "launch -proton", "'; drop table x; --"]
)
def test_odd_queries_never_fail(record, stakeholder, login, query):
    assert login(stakeholder).get("/search/", {"q": query}).status_code == 200


def test_a_null_character_is_a_400(record, stakeholder, login):
    assert login(stakeholder).get("/search/?q=launch%00").status_code == 400


def test_an_empty_query_shows_the_form_only(record, stakeholder, login):
    response = login(stakeholder).get("/search/")
    assert response.status_code == 200
    assert "Type a few words to search the record." in response.content.decode()


def test_postgresql_search_understands_word_forms_and_exclusions(record, stakeholder, login):
    client = login(stakeholder)
    assert "Proton launchers" in client.get("/search/?q=launcher").content.decode()
    assert "Proton launchers" not in client.get("/search/?q=launcher+-proton").content.decode()


def test_htmx_gets_the_results_fragment(record, stakeholder, login):
    response = login(stakeholder).get("/search/?q=proton", headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert content.strip().startswith('<section id="results"')
    assert "HX-Request" in response["Vary"]
    boosted = login(stakeholder).get(
        "/search/?q=proton", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert b"<html" in boosted.content


def test_the_search_field_is_an_active_search(record, stakeholder, login):
    content = login(stakeholder).get("/search/").content.decode()
    assert 'hx-trigger="input changed delay:300ms, search"' in content
    assert 'hx-push-url="true"' in content


def test_outsiders_get_403(record, outsider, login):
    assert login(outsider).get("/search/?q=proton").status_code == 403


def test_anonymous_is_sent_to_login(client, record):
    assert client.get("/search/?q=proton")["Location"].startswith("/accounts/login/")
    htmx = client.get("/search/?q=proton", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith("/accounts/login/")


def test_managers_search(record, manager, login):
    assert "Proton launchers" in login(manager).get("/search/?q=proton").content.decode()


def test_the_highlight_escapes_everything_but_its_own_marks():
    marked = f"<img src=x onerror=alert(1)> {search.MARK_START}proton{search.MARK_STOP} & co"
    assert (
        str(search.highlight(marked))
        == "&lt;img src=x onerror=alert(1)&gt; <mark>proton</mark> &amp; co"
    )


def test_the_stored_documents_hold_what_search_searches():
    """Each kind's stored document is over its own searched fields, in their order, with the
    configuration queries are parsed with: matching the column is matching those fields."""
    for searchable in search.SEARCHABLE:
        model = search.MODELS[searchable.kind]
        field = model._meta.get_field("search_document")
        _path, fields, options = field.expression.deconstruct()
        assert fields == searchable.own_fields, searchable.kind
        assert options["config"] == search.search_config()


@pytest.mark.parametrize("searchable", search.SEARCHABLE, ids=lambda searchable: searchable.kind)
def test_joined_fields_come_after_the_own_fields(searchable):
    """Statements rely on it: the own fields' word positions are those of the index."""
    assert searchable.fields == searchable.own_fields + searchable.joined_fields


def plan_without_seq_scans(queryset) -> str:
    """The plan when reading every row is not an option: only an index can find matches."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        return queryset.explain()


@pytest.mark.parametrize("searchable", search.SEARCHABLE, ids=lambda searchable: searchable.kind)
def test_each_kind_s_search_can_use_its_index(record, stakeholder, searchable):
    model_name = search.MODELS[searchable.kind]._meta.model_name
    queryset = search.full_text_queryset(stakeholder, searchable, "launch")
    assert f"agreements_{model_name}_document" in plan_without_seq_scans(queryset)


def test_a_statement_matches_its_summary_and_speaker_together(record, stakeholder, login):
    client = login(stakeholder)

    def statements_found(query: str) -> bool:
        return "<h2>Statements" in client.get("/search/", {"q": query}).content.decode()

    assert statements_found("nordlund")
    assert statements_found("nordlund signatures")
    assert statements_found('"signatures frederic"')
    assert not statements_found("signatures -nordlund")
    assert not statements_found("nordlund -signatures")
    assert not statements_found("nordlund launchers")


def test_only_the_latest_edited_matches_are_ranked(record, stakeholder, monkeypatch):
    monkeypatch.setattr(search, "RANKED_MATCHES", 1)
    clauses = search.SEARCHABLE[1]
    assert clauses.kind == "clauses"
    record.second_clause.title = "Orbiter instruments and launchers"
    record.second_clause.save()
    found = list(search.full_text_queryset(stakeholder, clauses, "launchers"))
    assert found == [record.second_clause]


def test_it_finds_earlier_texts_after_the_current_ones(negotiation, record, stakeholder, login):
    content = login(stakeholder).get("/search/", {"q": "Proton"}).content.decode()
    assert content.index("<h2>Clauses") < content.index("<h2>Earlier texts of clauses")
    earlier = content[content.index("<h2>Earlier texts of clauses") :]
    assert "version 1" in earlier
    assert "version 2" not in earlier  # the current text is the clause's own hit
    assert "Our fallback text" not in content  # a version of an internal clause


def test_juice_finds_the_money_and_the_launch_that_depend_on_it(record, stakeholder, login):
    from decimal import Decimal

    from agreements import services
    from agreements.models import FundingSource, Milestone

    services.record_creation(
        FundingSource(
            programme=record.programme,
            title="Launch savings from a shared Proton launch in 2022",
            amount=Decimal("120000000"),
            status=FundingSource.Status.CONTINGENT,
            condition="Only if Ganymede flies with ESA's Juice on one Proton launch.",
        ),
        by=record.editor,
    )
    Milestone.objects.create(
        title="Juice and Ganymede launch",
        kind=Milestone.Kind.LAUNCH,
        happens_on=datetime.date(2022, 1, 1),
        precision="year",
        topic=record.topic,
    )

    content = login(stakeholder).get("/search/", {"q": "juice"}).text

    assert "Launch savings from a shared Proton launch in 2022" in content
    assert "EUR 120,000,000" in content
    assert "Juice and Ganymede launch" in content
    assert "Reserve we do not talk about" not in content

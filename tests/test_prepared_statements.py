"""Queries are bound on the server, and prepared once a worker runs them again
(exomars_site/postgresql); the audit trail's writes, two statements in one, are bound on
the client and keep their context."""

import json
import re
import sys

import pytest
from django.db import connection

from agreements import audit_trail, search
from agreements.models import Agreement
from tests.test_settings import run


def prepared_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_a_query_run_again_is_prepared_with_its_parameters(record):
    before = prepared_statements()
    for _ in range(3):
        assert Agreement.objects.filter(slug="exomars-cooperation").exists()
    new = prepared_statements() - before
    # Bound on the server: the slug is a parameter ($1, $2...), not a literal in the text.
    assert any(re.search(r'"agreements_agreement"."slug" = \$\d', text) for text in new)


@pytest.mark.django_db
def test_a_search_is_planned_each_time(record, stakeholder):
    before = prepared_statements()
    for _ in range(4):
        assert search.search(stakeholder, "ExoMars")
    assert not [text for text in prepared_statements() - before if "websearch_to_tsquery" in text]
    # The same query outside the search is prepared: it is the search that says no.
    searchable = search.SEARCHABLE[0]
    for _ in range(4):
        list(search.full_text_queryset(stakeholder, searchable, "ExoMars")[:5])
    assert [text for text in prepared_statements() - before if "websearch_to_tsquery" in text]


@pytest.mark.django_db
def test_a_write_with_its_audit_context_is_made_and_carries_it(record):
    for reason in ("first", "second", "third"):
        with audit_trail.recorded(command="test", reason=reason):
            Agreement.objects.filter(pk=record.agreement.pk).update(title=f"Title {reason}")
    record.agreement.refresh_from_db()
    assert record.agreement.title == "Title third"
    latest = record.agreement.audit_events.order_by("pgh_id").last()
    assert latest.pgh_context["reason"] == "third"
    assert latest.pgh_diff["title"] == ["Title second", "Title third"]


def test_prepared_statements_can_be_turned_off_for_a_pooler():
    show = "from django.conf import settings; import json; o = settings.DATABASES['default']['OPTIONS']; print(json.dumps([o.get('server_side_binding'), o.get('prepare_threshold')]))"  # noqa: E501
    found = {}
    for value in ("", "off"):
        result = run(
            [sys.executable, "-c", f"import django; django.setup(); {show}"],
            {"DATABASE_PREPARED_STATEMENTS": value, "DATABASE_URL": "postgres://x@h/d",
             "DJANGO_SETTINGS_MODULE": "exomars_site.settings", "DEBUG": "1"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        found[value] = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {"": [True, 2], "off": [None, None]}

"""Queries compiled once and run with each request's values (agreements/query_shapes.py)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from agreements import record_cache
from agreements.models import Agreement, Clause
from agreements.query_shapes import Shape

pytestmark = pytest.mark.django_db


def counting(build):
    """`build`, counting its calls in `.calls`."""

    def counted(*args, **kwargs):
        counted.calls += 1
        return build(*args, **kwargs)

    counted.calls = 0
    return counted


def clause_of(reader, pk):
    return (
        Clause.objects.visible_to(reader)
        .select_related("agreement")
        .annotate(cache_versions=record_cache.page_versions(agreement="agreement_id"))
        .filter(pk=pk)
    )


def test_a_shape_is_built_once_and_run_with_each_values(record, stakeholder):
    build = counting(clause_of)
    shape = Shape(build, pk=int)
    first = shape.get_or_404(stakeholder, pk=record.clause.pk)
    with CaptureQueriesContext(connection) as captured:
        second = shape.get_or_404(stakeholder, pk=record.second_clause.pk)
        agreement = second.agreement  # came with the clause: no query
    assert (first, second) == (record.clause, record.second_clause)
    assert agreement == record.agreement
    assert second.cache_versions.startswith("common.")
    assert len(captured) == 1
    assert build.calls == 1


def test_each_audience_gets_its_own_build(record, stakeholder, manager, editor):
    build = counting(clause_of)
    shape = Shape(build, pk=int)
    internal = record.internal_clause.pk
    with pytest.raises(Http404):
        shape.get_or_404(stakeholder, pk=internal)
    assert shape.get_or_404(editor, pk=internal) == record.internal_clause
    assert shape.rows(manager, pk=internal) == []  # a reader, as the stakeholder
    assert build.calls == 2


def test_a_value_that_a_lookup_rewrites_is_refused(record):
    shape = Shape(lambda reader, words: Agreement.objects.filter(title__icontains=words), words=str)
    with pytest.raises(ValueError, match="'words' does not reach the SQL's parameters"):
        shape.rows(words="mars")


def test_a_new_day_builds_again(record, stakeholder, settings):
    """A day in the query (a horizon, an idle flag) is never kept past its day."""
    build = counting(clause_of)
    shape = Shape(build, pk=int)
    shape.rows(stakeholder, pk=record.clause.pk)
    settings.TRACKER_AS_OF = datetime.date(2030, 1, 1)
    assert shape.rows(stakeholder, pk=record.clause.pk) == [record.clause]
    assert build.calls == 2

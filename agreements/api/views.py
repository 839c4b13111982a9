"""The read-only API: one viewset per kind of record, each starting from `visible_to`.

A viewset names its queryset (the pages' QuerySet methods), its serializer, its filters
and its order; the rest (authentication, the reader check, throttling, JSON errors,
cursor pages) is the same for all and set in `settings.REST_FRAMEWORK`.

Every list is paged by cursor in a fixed order that no edit can change (the id, newest
first for the history), so a script walking the `next` links sees every row once even
while editors add records. Each page costs the same few queries whatever its length:
related records come through `select_related`, parties through one prefetch, and totals
are columns of the row's own query. A page of a list is kept in the page cache under the
record's version, the caller's audience and language, and its URL
(agreements/record_cache.py), so that a script asking again before the record changes
costs two queries: its token and the version.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Prefetch, QuerySet
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import (
    Agreement,
    Clause,
    ClauseVersion,
    FundingSource,
    Link,
    Milestone,
    Party,
    Position,
    Programme,
    Source,
    Statement,
    StatusChange,
    Topic,
)
from ..record_cache import record_key
from . import filters, serializers

SLUG = r"[-a-zA-Z0-9_]+"
NUMBER = r"[0-9]+"


class RecordViewSet(viewsets.ReadOnlyModelViewSet):
    """A kind of record: a list (`/things/`) and one record (`/things/<key>/`)."""

    ordering = ("id",)
    lookup_value_regex = NUMBER
    filter_form: type[filters.FilterForm] | None = None

    @property
    def user(self):
        return self.request.user

    def list(self, request: Request, *args, **kwargs) -> Response:
        # The page's data, rendered for each request: the rendering is cheap next to the queries.
        key = f"api:{record_key(request)}:{request.build_absolute_uri()}"
        data = cache.get(key)
        if data is None:
            data = super().list(request, *args, **kwargs).data
            cache.set(key, data)
        return Response(data)

    def visible(self, model) -> QuerySet:
        return model.objects.visible_to(self.user)

    def visible_parties(self) -> Prefetch:
        return Prefetch("parties", queryset=Party.objects.visible_to(self.user))


class PartyViewSet(RecordViewSet):
    """Negotiating sides and contributors, named by their slug elsewhere in the API."""

    serializer_class = serializers.PartySerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG

    def get_queryset(self) -> QuerySet:
        return self.visible(Party)


class AgreementViewSet(RecordViewSet):
    """Agreements, with their programme, parties and the number of clauses you may see."""

    serializer_class = serializers.AgreementSerializer
    filter_form = filters.AgreementFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG

    def get_queryset(self) -> QuerySet:
        return (
            self.visible(Agreement)
            .with_clause_counts()
            .select_related("programme")
            .prefetch_related(self.visible_parties())
        )


class ClauseViewSet(RecordViewSet):
    """Clauses of the agreements, in the order they were recorded."""

    serializer_class = serializers.ClauseSerializer
    filter_form = filters.ClauseFilter

    def get_queryset(self) -> QuerySet:
        return self.visible(Clause).select_related("agreement", "obligated_party").with_levels()


class TopicViewSet(RecordViewSet):
    """Topics discussed outside any signed text."""

    serializer_class = serializers.TopicSerializer
    filter_form = filters.TopicFilter
    lookup_field = "slug"
    lookup_value_regex = SLUG

    def get_queryset(self) -> QuerySet:
        return self.visible(Topic).prefetch_related(self.visible_parties())


class ProgrammeViewSet(RecordViewSet):
    """What is being paid for, with its funding totals derived from its sources."""

    serializer_class = serializers.ProgrammeSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG

    def get_queryset(self) -> QuerySet:
        return self.visible(Programme).with_funding()


class FundingSourceViewSet(RecordViewSet):
    """Money towards a programme's gap, each with its status, condition and decision date."""

    serializer_class = serializers.FundingSourceSerializer
    filter_form = filters.FundingSourceFilter

    def get_queryset(self) -> QuerySet:
        return self.visible(FundingSource).select_related("programme", "contributor", "source")


class MilestoneViewSet(RecordViewSet):
    """Dated events; a date known only to the month or year says so in `precision`."""

    serializer_class = serializers.MilestoneSerializer
    filter_form = filters.MilestoneFilter

    def get_queryset(self) -> QuerySet:
        return self.visible(Milestone).select_related("agreement", "topic", "programme", "source")


class StatementViewSet(RecordViewSet):
    """Who said what, when, and where it was reported."""

    serializer_class = serializers.StatementSerializer
    filter_form = filters.StatementFilter

    def get_queryset(self) -> QuerySet:
        return self.visible(Statement).select_related(
            "person__party", "agreement", "topic", "source"
        )


class SourceViewSet(RecordViewSet):
    """Where the facts come from: reports, minutes, letters."""

    serializer_class = serializers.SourceSerializer
    filter_form = filters.SourceFilter

    def get_queryset(self) -> QuerySet:
        return self.visible(Source)


class StatusChangeViewSet(RecordViewSet):
    """Every status change you may see, the most recently recorded first: the timeline,
    filterable the same way."""

    serializer_class = serializers.StatusChangeSerializer
    filter_form = filters.StatusChangeFilter
    # Recorded order, newest first: a change backdated today still comes first.
    ordering = ("-id",)

    def get_queryset(self) -> QuerySet:
        return self.visible(StatusChange).with_subjects()


class ClauseVersionViewSet(RecordViewSet):
    """Every version of the clauses' texts, oldest first: the last of a clause is its text."""

    serializer_class = serializers.ClauseVersionSerializer
    filter_form = filters.ClauseVersionFilter

    def get_queryset(self) -> QuerySet:
        return self.visible(ClauseVersion).select_related("proposed_by", "source", "recorded_by")


class PositionViewSet(RecordViewSet):
    """Each party's positions on the clauses and topics, as recorded; the latest of a party
    on a clause is its current one."""

    serializer_class = serializers.PositionSerializer
    filter_form = filters.PositionFilter

    def get_queryset(self) -> QuerySet:
        return self.visible(Position).select_related(
            "party", "topic", "version", "statement", "source", "recorded_by"
        )


class LinkViewSet(RecordViewSet):
    """What holds what up: links between records, with each blocker's condition; a link
    to a record you cannot see is not listed."""

    serializer_class = serializers.LinkSerializer

    def get_queryset(self) -> QuerySet:
        return self.visible(Link).with_condition()

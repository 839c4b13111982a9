"""What the API says about each record: flat, explicit fields and no logic of their own.

Records link to each other by slug (agreements, topics, programmes, parties) or by id (the
rest), as their own endpoints look them up. A link to a record the reader may not see is
`null`, never the hidden record's name: a shared clause can name an internal party.
`visibility` is always "shared" for a stakeholder; staff see "internal" on the records
readers cannot see. Amounts are decimal strings ("30000000.00"), never floats; approximate
dates are a date with its precision ("2013-02-01", "month"), and `happens_by` gives the
last day it may mean.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

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
    shown_to,
)

MONEY = {"max_digits": 18, "decimal_places": 2, "read_only": True}


class HidesInvisible:
    """A link that is null when the reader may not see the record it points to."""

    def get_attribute(self, instance):
        return shown_to(super().get_attribute(instance), self.context["request"].user)


class VisibleLink(HidesInvisible, serializers.SlugRelatedField):
    """A related record by its slug, or null."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", read_only=True, allow_null=True, **kwargs)


class VisibleIdLink(HidesInvisible, serializers.PrimaryKeyRelatedField):
    """A related record by its id, or null."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def use_pk_only_optimization(self) -> bool:
        return False  # the visibility check needs the record, which the query joined


class RecordSerializer(serializers.ModelSerializer):
    """Every field read-only: the API never writes, and its schema says so."""

    def get_fields(self) -> dict:
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields


class PageUrlMixin(serializers.Serializer):
    page_url = serializers.SerializerMethodField(
        help_text=_("The record's page for readers, to link to from a sheet.")
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_page_url(self, record) -> str:
        return self.context["request"].build_absolute_uri(record.get_absolute_url())


class PartySerializer(RecordSerializer):
    class Meta:
        model = Party
        fields = ["id", "visibility", "slug", "name", "short_name", "kind"]


class AgreementSerializer(PageUrlMixin, RecordSerializer):
    programme = VisibleLink()
    parties = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    clause_count = serializers.IntegerField(
        source="clause_total",
        read_only=True,
        help_text=_("Clauses of this agreement that you may see."),
    )

    class Meta:
        model = Agreement
        fields = [
            "id",
            "visibility",
            "slug",
            "title",
            "status",
            "summary",
            "programme",
            "parties",
            "clause_count",
            "updated_at",
            "page_url",
        ]


class ClauseSerializer(PageUrlMixin, RecordSerializer):
    agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    obligated_party = VisibleLink()
    level = serializers.CharField(
        read_only=True,
        help_text=_(
            "The agreement level, from the positions you may see: agreed, ad_referendum, "
            "reserved, stale (an acceptance of an earlier text) or open."
        ),
    )
    current_version = serializers.IntegerField(
        source="current_version_number", read_only=True, allow_null=True
    )

    class Meta:
        model = Clause
        fields = [
            "id",
            "visibility",
            "agreement",
            "reference",
            "position",
            "title",
            "text",
            "status",
            "obligated_party",
            "level",
            "current_version",
            "updated_at",
            "page_url",
        ]


class TopicSerializer(PageUrlMixin, RecordSerializer):
    parties = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = Topic
        fields = [
            "id",
            "visibility",
            "slug",
            "title",
            "status",
            "summary",
            "next_step",
            "parties",
            "updated_at",
            "page_url",
        ]


class FundingSerializer(serializers.Serializer):
    """A programme's gap and how it is being covered, derived from its funding sources."""

    currency = serializers.CharField(read_only=True)
    in_question = serializers.DecimalField(**MONEY)
    secured = serializers.DecimalField(**MONEY)
    expected = serializers.DecimalField(**MONEY)
    potential = serializers.DecimalField(**MONEY)
    contingent = serializers.DecimalField(**MONEY)
    lost = serializers.DecimalField(**MONEY, help_text=_("Not counted in any total."))
    found = serializers.DecimalField(
        **MONEY,
        help_text=_(
            "Everything that may come through: secured, expected, potential and contingent."
        ),
    )
    uncovered_if_all_comes_through = serializers.DecimalField(**MONEY)
    uncovered_counting_secured_only = serializers.DecimalField(**MONEY)


class ProgrammeSerializer(PageUrlMixin, RecordSerializer):
    funding = serializers.SerializerMethodField(
        help_text=_("Totals over the funding sources you may see; nobody types them.")
    )

    class Meta:
        model = Programme
        fields = [
            "id",
            "visibility",
            "slug",
            "name",
            "summary",
            "currency",
            "estimated_cost",
            "cost_note",
            "amount_in_question",
            "funding",
            "updated_at",
            "page_url",
        ]

    @extend_schema_field(FundingSerializer)
    def get_funding(self, programme: Programme) -> dict:
        return FundingSerializer(programme.funding).data


class FundingSourceSerializer(RecordSerializer):
    programme = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    currency = serializers.CharField(source="programme.currency", read_only=True)
    contributor = VisibleLink()
    source = VisibleIdLink()

    class Meta:
        model = FundingSource
        fields = [
            "id",
            "visibility",
            "programme",
            "title",
            "contributor",
            "amount",
            "currency",
            "status",
            "condition",
            "decision_on",
            "decision_precision",
            "source",
            "updated_at",
        ]


class MilestoneSerializer(RecordSerializer):
    agreement = VisibleLink()
    topic = VisibleLink()
    programme = VisibleLink()
    source = VisibleIdLink()
    happens_by = serializers.DateField(
        read_only=True, help_text=_("The last day the date may mean (31 December for a year).")
    )

    class Meta:
        model = Milestone
        fields = [
            "id",
            "visibility",
            "title",
            "kind",
            "happens_on",
            "precision",
            "happens_by",
            "description",
            "agreement",
            "topic",
            "programme",
            "source",
            "updated_at",
        ]


class StatementSerializer(RecordSerializer):
    speaker = serializers.CharField(source="person.name", read_only=True)
    speaker_role = serializers.CharField(source="person.role", read_only=True)
    speaker_party = serializers.SerializerMethodField()
    agreement = VisibleLink()
    topic = VisibleLink()
    source = VisibleIdLink()

    class Meta:
        model = Statement
        fields = [
            "id",
            "visibility",
            "said_on",
            "summary",
            "speaker",
            "speaker_role",
            "speaker_party",
            "agreement",
            "topic",
            "source",
            "updated_at",
        ]

    def get_speaker_party(self, statement: Statement) -> str | None:
        party = shown_to(statement.person.party, self.context["request"].user)
        return party.slug if party is not None else None


class SourceSerializer(RecordSerializer):
    link = serializers.URLField(source="url", read_only=True)

    class Meta:
        model = Source
        fields = [
            "id",
            "visibility",
            "title",
            "publisher",
            "kind",
            "published_on",
            "link",
            "updated_at",
        ]


class StatusChangeSerializer(RecordSerializer):
    agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    clause = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    topic = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    funding_source = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    subject = serializers.CharField(
        read_only=True, help_text=_("The record that changed, as the timeline names it.")
    )
    recorded_by = serializers.SerializerMethodField()
    source = VisibleIdLink()

    class Meta:
        model = StatusChange
        fields = [
            "id",
            "kind",
            "agreement",
            "clause",
            "topic",
            "funding_source",
            "subject",
            "from_status",
            "to_status",
            "effective_on",
            "recorded_at",
            "recorded_by",
            "note",
            "source",
        ]

    def get_recorded_by(self, change: StatusChange) -> str:
        return change.recorded_by.get_full_name() or change.recorded_by.get_username()


class RecordedBy:
    def get_recorded_by(self, event) -> str:
        return event.author_name


class ClauseVersionSerializer(RecordedBy, RecordSerializer):
    clause = serializers.PrimaryKeyRelatedField(read_only=True)
    proposed_by = VisibleLink(help_text=_("null for a joint text"))
    recorded_by = serializers.SerializerMethodField()
    source = VisibleIdLink()

    class Meta:
        model = ClauseVersion
        fields = [
            "id",
            "clause",
            "number",
            "text",
            "proposed_by",
            "kind",
            "proposed_on",
            "precision",
            "recorded_at",
            "recorded_by",
            "note",
            "source",
        ]


class PositionSerializer(RecordedBy, RecordSerializer):
    party = VisibleLink()
    clause = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    topic = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    version = serializers.IntegerField(
        source="version.number", read_only=True, allow_null=True, default=None
    )
    statement = VisibleIdLink()
    recorded_by = serializers.SerializerMethodField()
    source = VisibleIdLink()

    class Meta:
        model = Position
        fields = [
            "id",
            "visibility",
            "party",
            "clause",
            "topic",
            "stance",
            "reservation",
            "version",
            "taken_on",
            "precision",
            "statement",
            "recorded_at",
            "recorded_by",
            "note",
            "source",
        ]


class LinkSerializer(RecordSerializer):
    """A link between two records (issue 12): each side as its kind and id."""

    record_kind = serializers.SerializerMethodField(
        help_text=_("What kind of record it starts from.")
    )
    record_id = serializers.SerializerMethodField()
    other_kind = serializers.SerializerMethodField(help_text=_("What kind of record it reaches."))
    other_id = serializers.SerializerMethodField()
    condition_met = serializers.BooleanField(
        read_only=True, allow_null=True, help_text=_("For a blocker: whether it is lifted.")
    )
    met_on = serializers.DateField(
        read_only=True, allow_null=True, help_text=_("For a lifted blocker: since when.")
    )

    class Meta:
        model = Link
        fields = [
            "id",
            "visibility",
            "kind",
            "record_kind",
            "record_id",
            "other_kind",
            "other_id",
            "condition",
            "condition_met",
            "met_on",
            "lag_days",
            "linked_on",
            "note",
            "updated_at",
        ]

    def get_record_kind(self, link: Link) -> str:
        return link.record_key.side

    def get_record_id(self, link: Link) -> int:
        return link.record_key.pk

    def get_other_kind(self, link: Link) -> str:
        return link.other_key.side

    def get_other_id(self, link: Link) -> int:
        return link.other_key.pk

"""What holds what up: typed, dated links between agreements, clauses, topics, funding
sources and milestones (DESIGN.md calls them Dependency).

A link reads from its record to another: "the agreement is *blocked by* the launch savings,
until they are secured"; "the committee's decision *precedes* the signature, by 30 days";
"clause 2 is *part of the package* with clause 1"; "*related*".

Each side is one of five explicit nullable foreign keys, exactly one of them set (a check
constraint), rather than a generic relation: PostgreSQL then protects a linked record from
deletion (PROTECT), the lifting conditions are plain joins, and whether a reader may see
each side is that kind's own visibility rule (`_record_visible`).

Whether a blocker's condition is met, and since when, is worked out in the query
(`Link.objects.visible_to(user).with_condition()`), never stored: a lifted blocker stays as
history ("was blocked by … until 14 Feb 2013"). Cycles of blockers and precedence are
refused by `services.record_links`, under a lock.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Case, Exists, F, Lookup, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import clock
from ..record_versions import LINKED_KINDS, OTHER_SIDE
from .base import VisibleQuerySet, VisibleRecord, shared, visibility_constraint
from .dates import DatePrecision, approximate_date, validate_record_date
from .negotiation import Agreement, Clause, Milestone, Topic
from .record import FundingSource, Source

# The five kinds of record a link joins, in the order forms and pages list them: agreement,
# clause, topic, funding source, milestone. The version triggers' SQL names them too.
SIDES = LINKED_KINDS
SIDE_MODELS = {
    "agreement": Agreement,
    "clause": Clause,
    "topic": Topic,
    "funding_source": FundingSource,
    "milestone": Milestone,
}
SIDE_BY_MODEL = {model: side for side, model in SIDE_MODELS.items()}


class LinkKind(models.TextChoices):
    BLOCKED_BY = "blocked_by", _("Blocked by")
    PRECEDES = "precedes", _("Precedes")
    PACKAGE = "package", _("Part of the package with")
    RELATED = "related", _("Related to")


class LiftingCondition(models.TextChoices):
    """What lifts a blocker, chosen from the blocker's kind (`CONDITION_SIDES`)."""

    AGREEMENT_SIGNED = "agreement_signed", _("the agreement is signed")
    CLAUSE_AGREED = "clause_agreed", _("the clause is agreed")
    CLAUSE_SIGNED = "clause_signed", _("the clause is signed")
    TOPIC_AGREED = "topic_agreed", _("the topic reaches agreement")
    FUNDING_SECURED = "funding_secured", _("the money is secured")
    MILESTONE_PASSED = "milestone_passed", _("the date passes or it is marked done")


# The blocker's kind each condition fits (a check constraint says the same).
CONDITION_SIDES = {
    LiftingCondition.AGREEMENT_SIGNED: "agreement",
    LiftingCondition.CLAUSE_AGREED: "clause",
    LiftingCondition.CLAUSE_SIGNED: "clause",
    LiftingCondition.TOPIC_AGREED: "topic",
    LiftingCondition.FUNDING_SECURED: "funding_source",
    LiftingCondition.MILESTONE_PASSED: "milestone",
}
# The condition a new blocker gets when the editor names none.
DEFAULT_CONDITION = {side: condition for condition, side in reversed(CONDITION_SIDES.items())}


def _record_visible(prefix: str, side: str) -> Q:
    """The record at `prefix<side>` is absent or one the readers may see, by its kind's own
    visibility rule (its `visibility_rule`, the one every read path of that kind applies).

    An EXISTS on that record rather than joins to the record and its parents: the rule
    stays each kind's own, and a query holding several link rules (an idle flag has five)
    plans in a fraction of the time of the twenty outer joins. Correlated, so that a query
    reading a few links probes their records by key; PostgreSQL hashes the visible records
    instead where it reads most links. (An uncorrelated `IN` hashed every visible clause
    and milestone for each of the ten sides: about 100 ms per query of links at 100x the
    demo, however few links it read.)"""
    records = SIDE_MODELS[side]._default_manager.all()
    path = f"{prefix}{side}"
    visible = records.filter(records.visibility_rule(), pk=OuterRef(path)).order_by()
    return Q(**{f"{path}__isnull": True}) | Exists(visible)


@functools.cache
def _link_visibility_rule() -> Q:
    """A link is seen only when both its records are: a link to a record the reader cannot
    see is invisible, and so is its effect. Built once per process: it names no reader and
    no day, and a page asks for it up to ten times (every idle flag holds five)."""
    rule = shared()
    for side in SIDES:
        rule &= _record_visible("", side) & _record_visible("to_", side)
    return rule


def milestone_passed_rule(prefix: str, today: datetime.date) -> Q:
    """The milestone at `prefix` is marked done, or its whole date (a month, a year) is
    over: the negation of `MilestoneQuerySet._not_yet_over`."""
    return (
        Q(**{f"{prefix}done_on__isnull": False, f"{prefix}done_on__lte": today})
        | Q(**{f"{prefix}precision": DatePrecision.DAY, f"{prefix}happens_on__lt": today})
        | Q(
            **{
                f"{prefix}precision": DatePrecision.MONTH,
                f"{prefix}happens_on__lt": today.replace(day=1),
            }
        )
        | Q(
            **{
                f"{prefix}precision": DatePrecision.YEAR,
                f"{prefix}happens_on__lt": datetime.date(today.year, 1, 1),
            }
        )
    )


def _exactly_one(prefix: str) -> Q:
    return Q(
        *(
            Q(**{f"{prefix}{chosen}__isnull": False})
            & Q(*(Q(**{f"{prefix}{side}__isnull": True}) for side in SIDES if side != chosen))
            for chosen in SIDES
        ),
        _connector=Q.OR,
    )


class LinkQuerySet(VisibleQuerySet):
    def visibility_rule(self) -> Q:
        return _link_visibility_rule()

    def with_records(self):
        return self.select_related(
            *SIDES,
            *(f"to_{side}" for side in SIDES),
            "clause__agreement",
            "to_clause__agreement",
            "funding_source__programme",
            "to_funding_source__programme",
            "source",
        )

    def blockers(self):
        return self.filter(kind=LinkKind.BLOCKED_BY)

    def of_record(self, record) -> LinkQuerySet:
        """The links that start from `record` (what it is blocked by, precedes, …)."""
        return self.filter(**{SIDE_BY_MODEL[type(record)]: record})

    def to_record(self, record) -> LinkQuerySet:
        """The links that end at `record` (what it holds up, …)."""
        return self.filter(**{f"to_{SIDE_BY_MODEL[type(record)]}": record})

    def with_condition(self, today: datetime.date | None = None):
        """Each blocker's condition, as columns of the links' own query: `condition_met`
        (whether the blocker reached it; None for links that are not blockers) and
        `met_on` (since when, where the record says).

        Whether a condition is met is a join on the blocker's own columns. A clause is
        *agreed* once its status says its text is agreed (pending signature, or signed):
        the agreement level derived from positions (issue 11) depends on the reader and is
        a dozen subqueries per clause, too heavy to plan into every link row (tried: over
        seventy kilobytes of SQL and seconds of planning per query).

        The day a status was reached comes from the status history: a subquery in a CASE
        branch, which PostgreSQL runs only for the rows of a met condition.
        """
        from .history import StatusChange

        today = today or clock.today()
        Condition = LiftingCondition
        agreed_clause = (Clause.Status.PENDING, Clause.Status.SIGNED)

        def reached_on(side: str, statuses: tuple[str, ...]):
            # The latest change into these statuses from outside them.
            rows = StatusChange.objects.filter(
                **{side: OuterRef(f"to_{side}"), "to_status__in": statuses}
            ).exclude(from_status__in=statuses)
            return Subquery(rows.order_by("-effective_on", "-id").values("effective_on")[:1])

        fulfilled = {
            Condition.AGREEMENT_SIGNED: Q(to_agreement__status=Agreement.Status.SIGNED),
            Condition.CLAUSE_AGREED: Q(to_clause__status__in=agreed_clause),
            Condition.CLAUSE_SIGNED: Q(to_clause__status=Clause.Status.SIGNED),
            Condition.TOPIC_AGREED: Q(to_topic__status=Topic.Status.AGREED),
            Condition.FUNDING_SECURED: Q(to_funding_source__status=FundingSource.Status.SECURED),
            Condition.MILESTONE_PASSED: milestone_passed_rule("to_milestone__", today),
        }
        since = {
            Condition.AGREEMENT_SIGNED: reached_on("agreement", (Agreement.Status.SIGNED,)),
            Condition.CLAUSE_AGREED: reached_on("clause", agreed_clause),
            Condition.CLAUSE_SIGNED: reached_on("clause", (Clause.Status.SIGNED,)),
            Condition.TOPIC_AGREED: reached_on("topic", (Topic.Status.AGREED,)),
            Condition.FUNDING_SECURED: reached_on(
                "funding_source", (FundingSource.Status.SECURED,)
            ),
            Condition.MILESTONE_PASSED: F("to_milestone__done_on"),
        }
        met = Case(
            *(
                When(Q(kind=LinkKind.BLOCKED_BY, condition=condition), then=rule)
                for condition, rule in fulfilled.items()
            ),
            default=Value(None),
            output_field=models.BooleanField(null=True),
        )
        met_on = Case(
            *(
                When(Q(kind=LinkKind.BLOCKED_BY, condition=condition) & fulfilled[condition],
                     then=since[condition])
                for condition in fulfilled
            ),
            default=Value(None),
            output_field=models.DateField(null=True),
        )  # fmt: skip
        return self.annotate(condition_met=met, met_on=met_on)

    def upstream_of(self, record) -> LinkQuerySet:
        """The blockers of `record`, of its blockers, and on up the chain: one recursive
        query over the blockers alone, rather than reading them all to walk the graph."""
        # S611: the SQL is this module's constant; the record is a parameter.
        reached = RawSQL(BLOCKERS_UPSTREAM, (SIDE_BY_MODEL[type(record)], record.pk))  # noqa: S611
        return self.filter(AnyOf(F("id"), reached))

    def of_agreements(self, ids: list[int]) -> LinkQuerySet:
        """The links that start from one of these agreements or from one of their clauses."""
        # The agreements' links are found first, by key, so that the visibility rule is
        # then checked on those alone: with `IN`, PostgreSQL checked it on every link,
        # building a hash of every visible clause and milestone to do so.
        found = Link.objects.filter(Q(agreement__in=ids) | Q(clause__agreement__in=ids))
        return self.filter(AnyOf(F("id"), found.order_by().values("id")))

    def open_blockers(self, today: datetime.date | None = None):
        """The blockers whose condition is not met (yet)."""
        rows = self if "condition_met" in self.query.annotations else self.with_condition(today)
        return rows.blockers().filter(condition_met=False)


class AnyOf(Lookup):
    """`value = ANY(ARRAY(subquery))`: the subquery is worked out first, once, and the rows
    are then read by key. With `IN (subquery)` PostgreSQL may instead read every row and
    keep those the subquery returns (it did for the blockers upstream, with their records
    and conditions)."""

    lookup_name = "any_of"

    def as_sql(self, compiler, connection):
        value, value_params = self.process_lhs(compiler, connection)
        subquery, subquery_params = self.process_rhs(compiler, connection)
        return f"{value} = ANY(ARRAY({subquery}))", (*value_params, *subquery_params)


# The blockers reachable from one record, however far: what blocks it, what blocks those,
# and on. Each side's kind and id is read as the version triggers read it (`OTHER_SIDE`,
# one row per kind, the one set). Whether each blocker is open and may be seen is left to
# the query it narrows.
BLOCKERS_UPSTREAM = f"""
    WITH RECURSIVE blocker (id, kind, pk, to_kind, to_pk) AS (
        SELECT link.id, record.kind, record.id, other.kind, other.id
        FROM agreements_link AS link,
            LATERAL (VALUES {OTHER_SIDE.format(prefix="")}) AS record (kind, id),
            LATERAL (VALUES {OTHER_SIDE.format(prefix="to_")}) AS other (kind, id)
        WHERE link.kind = 'blocked_by' AND record.id IS NOT NULL AND other.id IS NOT NULL
    ), reached (id, kind, pk) AS (
        SELECT id, to_kind, to_pk FROM blocker WHERE kind = %s AND pk = %s
        UNION
        SELECT blocker.id, blocker.to_kind, blocker.to_pk
        FROM reached JOIN blocker ON blocker.kind = reached.kind AND blocker.pk = reached.pk
    )
    SELECT id FROM reached"""  # noqa: S608 (constants; the record is a parameter)


@dataclass(frozen=True)
class RecordKey:
    """One record of any of the five kinds, as a node of the graph of links."""

    side: str
    pk: int

    @classmethod
    def of(cls, record) -> RecordKey:
        return cls(SIDE_BY_MODEL[type(record)], record.pk)


class Link(VisibleRecord):
    Kind = LinkKind
    Condition = LiftingCondition

    agreement = models.ForeignKey(
        Agreement, models.PROTECT, null=True, blank=True, related_name="links",
        verbose_name=_("agreement"),
    )  # fmt: skip
    clause = models.ForeignKey(
        Clause, models.PROTECT, null=True, blank=True, related_name="links",
        verbose_name=_("clause"),
    )  # fmt: skip
    topic = models.ForeignKey(
        Topic, models.PROTECT, null=True, blank=True, related_name="links",
        verbose_name=_("topic"),
    )  # fmt: skip
    funding_source = models.ForeignKey(
        FundingSource, models.PROTECT, null=True, blank=True, related_name="links",
        verbose_name=_("funding source"),
    )  # fmt: skip
    milestone = models.ForeignKey(
        Milestone, models.PROTECT, null=True, blank=True, related_name="links",
        verbose_name=_("milestone"),
    )  # fmt: skip
    kind = models.CharField(_("kind of link"), max_length=20, choices=Kind.choices)
    to_agreement = models.ForeignKey(
        Agreement, models.PROTECT, null=True, blank=True, related_name="incoming_links",
        verbose_name=_("to agreement"),
    )  # fmt: skip
    to_clause = models.ForeignKey(
        Clause, models.PROTECT, null=True, blank=True, related_name="incoming_links",
        verbose_name=_("to clause"),
    )  # fmt: skip
    to_topic = models.ForeignKey(
        Topic, models.PROTECT, null=True, blank=True, related_name="incoming_links",
        verbose_name=_("to topic"),
    )  # fmt: skip
    to_funding_source = models.ForeignKey(
        FundingSource, models.PROTECT, null=True, blank=True, related_name="incoming_links",
        verbose_name=_("to funding source"),
    )  # fmt: skip
    to_milestone = models.ForeignKey(
        Milestone, models.PROTECT, null=True, blank=True, related_name="incoming_links",
        verbose_name=_("to milestone"),
    )  # fmt: skip
    condition = models.CharField(
        _("lifted when"),
        max_length=30,
        choices=Condition.choices,
        blank=True,
        help_text=_("For a blocker: what lifts it, from the blocker's kind."),
    )
    lag_days = models.PositiveIntegerField(
        _("lag in days"), default=0, help_text=_("For precedence: the days between the two.")
    )
    linked_on = models.DateField(
        _("since"),
        default=clock.today,
        validators=[validate_record_date],
        help_text=_("When the dependency arose or became known."),
    )
    note = models.TextField(_("note"), blank=True)
    source = models.ForeignKey(
        Source, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("source"),
    )  # fmt: skip
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("recorded by"),
    )  # fmt: skip
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = LinkQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "linked_on", "id"]
        verbose_name = _("link")
        verbose_name_plural = _("links")
        constraints = [
            visibility_constraint("link"),
            models.CheckConstraint(condition=Q(kind__in=LinkKind.values), name="link_kind_valid"),
            # Exactly one record on each side.
            *(
                models.CheckConstraint(condition=_exactly_one(prefix), name=f"link_one_{name}")
                for prefix, name in (("", "record"), ("to_", "other"))
            ),
            # A blocker's condition fits the blocker's kind; other links have none.
            models.CheckConstraint(
                condition=Q(
                    *(
                        Q(condition=condition, **{f"to_{side}__isnull": False})
                        for condition, side in CONDITION_SIDES.items()
                    ),
                    _connector=Q.OR,
                )
                & Q(kind=LinkKind.BLOCKED_BY)
                | (~Q(kind=LinkKind.BLOCKED_BY) & Q(condition="")),
                name="link_condition_fits_blocker",
            ),
            models.CheckConstraint(
                condition=Q(kind=LinkKind.PRECEDES) | Q(lag_days=0),
                name="link_lag_only_for_precedence",
            ),
            # Never a record with itself.
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{side}__isnull": True}) | ~Q(**{side: F(f"to_{side}")}),
                    name=f"link_not_to_itself_{side}",
                )
                for side in SIDES
            ),
            models.UniqueConstraint(
                fields=["kind", *SIDES, *(f"to_{side}" for side in SIDES)],
                nulls_distinct=False,
                name="link_unique",
            ),
        ]
        # Each foreign key has its own index (Django's default): the pages look links up
        # from either side, and PROTECT looks them up before a record is deleted.

    def __str__(self) -> str:
        return f"{self.record} · {self.get_kind_display()} · {self.other}"

    @property
    def record_key(self) -> RecordKey:
        side = next(side for side in SIDES if getattr(self, f"{side}_id") is not None)
        return RecordKey(side, getattr(self, f"{side}_id"))

    @property
    def other_key(self) -> RecordKey:
        side = next(side for side in SIDES if getattr(self, f"to_{side}_id") is not None)
        return RecordKey(side, getattr(self, f"to_{side}_id"))

    @property
    def record(self):
        return getattr(self, self.record_key.side)

    @property
    def other(self):
        return getattr(self, f"to_{self.other_key.side}")

    @property
    def condition_label(self) -> str:
        return str(self.get_condition_display())

    @property
    def is_open(self) -> bool:
        """From `with_condition()`: a blocker whose condition is not met yet."""
        return self.kind == LinkKind.BLOCKED_BY and self.condition_met is False

    @property
    def lifted_on_label(self) -> str:
        """When the blocker was lifted, as precisely as the record says ("" if unknown)."""
        if self.met_on is not None:
            return approximate_date(self.met_on)
        if self.condition == LiftingCondition.MILESTONE_PASSED and self.to_milestone_id:
            milestone = self.to_milestone
            return approximate_date(milestone.happens_on, milestone.precision)
        return ""

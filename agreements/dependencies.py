"""What holds it up, as readers see it: the "Waiting on" and "Holds up" panels of a record
page, the path to signature of an agreement, packages, and the blocked counts.

Everything starts from `Link.objects.visible_to(user).with_condition()`: a link to a record
the reader cannot see is not there, and neither is its effect. Each function asks a fixed
number of queries, whatever the number of links; the graph work (packages, the longest
chain of blockers) is done on the rows in Python.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from . import clock
from .models import (
    SIDE_BY_MODEL,
    Agreement,
    Clause,
    FundingSource,
    Link,
    LinkKind,
    Milestone,
    RecordKey,
    Topic,
    approximate_date,
    date_precision_end,
)

RECORD_KIND_LABELS = {
    "agreement": _("Agreement"),
    "clause": _("Clause"),
    "topic": _("Topic"),
    "funding_source": _("Funding"),
    "milestone": _("Milestone"),
}


def links_of(user, today: datetime.date | None = None):
    """The links `user` may see, with their conditions and both records, ready for pages."""
    return (
        Link.objects.visible_to(user)
        .with_condition(today)
        .with_records()
        .select_related(
            *(
                f"{prefix}milestone__{subject}"
                for prefix in ("", "to_")
                for subject in ("agreement", "topic", "programme")
            )
        )
    )


def settled(record, today: datetime.date) -> bool:
    """Whether a record has reached its own goal: a package member is agreed."""
    if isinstance(record, Agreement):
        return record.status == Agreement.Status.SIGNED
    if isinstance(record, Clause):
        return record.status in (Clause.Status.PENDING, Clause.Status.SIGNED)
    if isinstance(record, Topic):
        return record.status == Topic.Status.AGREED
    if isinstance(record, FundingSource):
        return record.status == FundingSource.Status.SECURED
    return milestone_passed(record, today)


def milestone_passed(milestone: Milestone, today: datetime.date) -> bool:
    if milestone.done_on is not None and milestone.done_on <= today:
        return True
    return milestone.happens_by < today


@dataclass
class RecordFacts:
    """What a panel says of one linked record: its status, its decision date, overdue."""

    record: object
    kind_label: str
    status_label: str
    expected: str
    overdue: bool

    @classmethod
    def of(cls, record, today: datetime.date) -> RecordFacts:
        side = SIDE_BY_MODEL[type(record)]
        expected, overdue = "", False
        if isinstance(record, FundingSource) and record.decision_on:
            expected = approximate_date(record.decision_on, record.decision_precision)
            end = date_precision_end(record.decision_on, record.decision_precision)
            overdue = end < today and record.status != FundingSource.Status.SECURED
        elif isinstance(record, Milestone):
            expected = approximate_date(record.happens_on, record.precision)
            overdue = record.happens_by < today and record.done_on is None
        if isinstance(record, Milestone):
            status = (
                _("done on %(date)s") % {"date": approximate_date(record.done_on)}
                if record.done_on
                else record.get_kind_display()
            )
        else:
            status = record.get_status_display()
        return cls(record, str(RECORD_KIND_LABELS[side]), str(status), expected, overdue)


@dataclass
class Package:
    members: list[RecordFacts]
    agreed: int

    @property
    def total(self) -> int:
        return len(self.members)

    @property
    def complete(self) -> bool:
        return self.agreed == self.total


@dataclass
class Panel:
    """The "Waiting on" and "Holds up" panels of one record."""

    waiting_on: list[tuple[Link, RecordFacts]] = field(default_factory=list)
    lifted: list[tuple[Link, RecordFacts]] = field(default_factory=list)
    holds_up: list[tuple[Link, RecordFacts]] = field(default_factory=list)
    precedes: list[tuple[Link, RecordFacts]] = field(default_factory=list)
    follows: list[tuple[Link, RecordFacts]] = field(default_factory=list)
    related: list[tuple[Link, RecordFacts]] = field(default_factory=list)
    package: Package | None = None

    @property
    def is_empty(self) -> bool:
        return not (
            self.waiting_on
            or self.lifted
            or self.holds_up
            or self.precedes
            or self.follows
            or self.related
            or self.package
        )


def panel(user, record, today: datetime.date | None = None) -> Panel:
    """The links of `record` as `user` sees them: three queries."""
    today = today or clock.today()
    links = links_of(user, today)
    key = RecordKey.of(record)
    side = key.side
    found = Panel()
    touching = list(links.filter(Q(**{side: record}) | Q(**{f"to_{side}": record})))
    for link in touching:
        outgoing = link.record_key == key
        other = link.other if outgoing else link.record
        facts = RecordFacts.of(other, today)
        if link.kind == LinkKind.BLOCKED_BY:
            if outgoing:
                (found.waiting_on if link.is_open else found.lifted).append((link, facts))
            elif link.is_open:
                found.holds_up.append((link, facts))
        elif link.kind == LinkKind.PRECEDES:
            (found.precedes if outgoing else found.follows).append((link, facts))
        elif link.kind == LinkKind.RELATED:
            found.related.append((link, facts))
    if any(link.kind == LinkKind.PACKAGE for link in touching):
        found.package = package_of(links, key, today)
    return found


def package_of(links, key: RecordKey, today: datetime.date) -> Package:
    """The package `key` belongs to: every record joined to it by package links, however
    indirectly (one query for the package links the reader may see)."""
    neighbours: dict[RecordKey, set[RecordKey]] = {}
    records: dict[RecordKey, object] = {}
    for link in links.filter(kind=LinkKind.PACKAGE):
        a, b = link.record_key, link.other_key
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
        records[a], records[b] = link.record, link.other
    seen, todo = {key}, [key]
    while todo:
        for neighbour in neighbours.get(todo.pop(), ()):
            if neighbour not in seen:
                seen.add(neighbour)
                todo.append(neighbour)
    members = sorted(seen, key=lambda k: (k.side, str(records[k])))
    facts = [RecordFacts.of(records[member], today) for member in members]
    agreed = sum(settled(records[member], today) for member in members)
    return Package(facts, agreed)


@dataclass
class Step:
    """One step of a path to signature: a blocker, and the record it holds up."""

    facts: RecordFacts
    link: Link


def path_to_signature(user, agreement: Agreement, today: datetime.date | None = None):
    """The longest chain of open blockers ending at `agreement`, the first to lift first:
    [(blocker's facts, link)], empty when nothing holds the signature up. One query, for
    the blockers upstream of the agreement only."""
    today = today or clock.today()
    blocking: dict[RecordKey, list[Link]] = {}
    for link in links_of(user, today).open_blockers(today).upstream_of(agreement):
        blocking.setdefault(link.record_key, []).append(link)

    longest: dict[RecordKey, list[Link]] = {}

    def chain(key: RecordKey, path: frozenset) -> list[Link]:
        # Blockers never go round in a circle (services.record_links); `path` guards anyway.
        if key in longest:
            return longest[key]
        best: list[Link] = []
        for link in blocking.get(key, ()):
            other = link.other_key
            if other in path:
                continue
            candidate = [*chain(other, path | {other}), link]
            if len(candidate) > len(best):
                best = candidate
        longest[key] = best
        return best

    start = RecordKey.of(agreement)
    return [
        Step(RecordFacts.of(link.other, today), link) for link in chain(start, frozenset({start}))
    ]


def blocked_counts(user, agreements: list[Agreement], today: datetime.date | None = None):
    """How many open blockers hold up each agreement or its clauses: `agreement.blocked`.
    One grouped query for all of them."""
    if not agreements:
        return agreements
    rows = (
        Link.objects.visible_to(user)
        .of_agreements([agreement.pk for agreement in agreements])
        .open_blockers(today)
        .annotate(of_agreement=Coalesce("agreement", "clause__agreement"))
        .order_by()
        .values("of_agreement")
        .annotate(total=Count("id"))
    )
    counts = {row["of_agreement"]: row["total"] for row in rows}
    for agreement in agreements:
        agreement.blocked = counts.get(agreement.pk, 0)
    return agreements

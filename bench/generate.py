"""A synthetic negotiation at 100 times the demo: the record the benchmark reads.

Rows go in with `bulk_create`, status history included: `services.change_status` is the only
writer of a status in the app, but calling it 200,000 times would take an hour and prove
nothing the test suite does not already prove. The rows written here obey the same rules
(every status has its history, each change moves from one status to another, the last
change ends at the record's status), so the pages read what they would read in production.

Everything is drawn from one `random.Random(seed)`: the same seed and sizes give the same
record. Dates are offsets from today, so that "recent" views and digests see a steady
trickle of changes whatever day the benchmark runs.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import models, transaction
from django.utils import timezone

from agreements.models import (
    Agreement,
    Clause,
    ClauseVersion,
    DatePrecision,
    FundingSource,
    Link,
    Milestone,
    Party,
    Person,
    Position,
    Programme,
    Source,
    Statement,
    StatusChange,
    Subscription,
    Topic,
    Visibility,
)
from agreements.models.links import SIDE_BY_MODEL

BATCH_SIZE = 2000
# The biggest agreement's negotiation (issue 11): its first clause's versions, and positions.
VERSIONS = 100
POSITIONS = 400
INTERNAL_SHARE = 0.03  # "a few per cent" of records are staff-only
HISTORY_YEARS = 3
PASSWORD = "bench-password-not-secret"
# What the links say, as shares of `Sizes.links`: what a negotiation waits on, mostly.
LINK_SHARES = {
    "topic blocks": 10,  # an agreement, or its money, waits for a topic's deal
    "money blocks": 10,  # an agreement waits for its programme's money
    "milestone blocks": 15,  # a record waits for a decision or a date
    "clause blocks": 25,  # a clause waits for an earlier clause of its agreement
    "agreement blocks": 2,  # an agreement waits for another's signature
    "package": 15,  # clauses of an agreement approved together
    "related": 15,
    "precedes": 8,  # a milestone comes some days before a record's step
}
LAG_DAYS = (7, 14, 30, 60, 90)
DONE_SHARE = 0.5  # of the passed milestones that block something, those marked done
# Blockers and precedence never go round in a circle, by construction: every "first, then"
# edge goes up this order, and within a kind from the lower id to the higher.
FIRST_TO_LAST = ("milestone", "topic", "funding_source", "clause", "agreement")


@dataclass(frozen=True)
class Sizes:
    agreements: int = 200
    clauses: int = 20_000
    topics: int = 2_000
    programmes: int = 50
    funding_sources: int = 5_000
    milestones: int = 10_000
    status_changes: int = 200_000
    users: int = 500
    parties: int = 40
    people: int = 200
    sources: int = 1_000
    statements: int = 5_000
    links: int = 2_000

    def scaled(self, divisor: int) -> Sizes:
        """The same shape, smaller; never below what the pages need to have something."""
        minimum = {"parties": 6, "people": 6, "users": 6, "programmes": 1}
        return Sizes(
            **{
                field.name: max(getattr(self, field.name) // divisor, minimum.get(field.name, 2))
                for field in dataclasses.fields(self)
            }
        )


FULL = Sizes()
QUICK = FULL.scaled(100)


@dataclass
class Record:
    """What the harness needs from the generated record: slugs to visit, people to be."""

    agreement: str
    clause: int
    topic: str
    programme: str
    stakeholders: list[User]
    editors: list[User]


class Progress:
    """A progress bar on stderr; plain percentage lines when stderr is not a terminal."""

    def __init__(self, label: str, total: int, stream=sys.stderr):
        self.label, self.total, self.stream = label, max(total, 1), stream
        self.done = 0
        self.tty = stream.isatty()
        self.shown_at = 0.0
        self.last_quarter = -1

    def advance(self, count: int = 1) -> None:
        self.done = min(self.done + count, self.total)
        share = self.done / self.total
        if self.tty:
            now = time.monotonic()
            if now - self.shown_at > 0.1 or self.done == self.total:
                self.shown_at = now
                bar = "#" * int(share * 30)
                self.stream.write(f"\r  {self.label:<16} [{bar:<30}] {self.done:>7}/{self.total}")
                if self.done == self.total:
                    self.stream.write("\n")
                self.stream.flush()
        elif int(share * 4) > self.last_quarter:
            self.last_quarter = int(share * 4)
            self.stream.write(f"  {self.label:<16} {int(share * 100):>3}% ({self.done})\n")
            self.stream.flush()


def batches(items: Iterable, size: int = BATCH_SIZE) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert(model: type[models.Model], rows: list, label: str) -> list:
    """bulk_create in batches, with a progress bar; returns the rows with their ids."""
    progress = Progress(label, len(rows))
    for batch in batches(rows):
        model.objects.bulk_create(batch)
        progress.advance(len(batch))
    return rows


WORDS = [
    *("Mars", "orbiter", "lander", "rover", "launch", "Proton", "telemetry", "instrument"),
    *("descent", "module", "navigation", "ground", "station", "propulsion", "payload"),
    *("Juice", "Ganymede", "lunar", "robotics", "sample", "return", "data", "relay"),
    *("antenna", "spectrometer", "camera", "drilling", "heat", "shield", "parachute"),
    *("insurance", "liability", "export", "licence", "frequency", "budget", "schedule"),
]
PUBLISHERS = ["Wire", "Space News", "Agency Bulletin", "Ministerial Council", "Press Office"]


class Generator:
    def __init__(self, sizes: Sizes, seed: int):
        self.sizes = sizes
        self.rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
        self.today = timezone.localdate()
        self.first_day = self.today - datetime.timedelta(days=365 * HISTORY_YEARS)

    # Small helpers -----------------------------------------------------------------------

    def visibility(self) -> str:
        if self.rng.random() < INTERNAL_SHARE:
            return Visibility.INTERNAL
        return Visibility.SHARED

    def words(self, count: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(count))

    def title(self, count: int = 4) -> str:
        return self.words(count).capitalize()

    def day(self) -> datetime.date:
        span = (self.today - self.first_day).days
        return self.first_day + datetime.timedelta(days=self.rng.randrange(span + 1))

    def approximate_day(self) -> tuple[datetime.date, str]:
        day = self.day() + datetime.timedelta(days=365)  # milestones reach into the future
        precision = self.rng.choices(
            [DatePrecision.DAY, DatePrecision.MONTH, DatePrecision.YEAR], [6, 3, 1]
        )[0]
        if precision == DatePrecision.MONTH:
            day = day.replace(day=1)
        elif precision == DatePrecision.YEAR:
            day = day.replace(month=1, day=1)
        return day, precision

    def maybe(self, items: list, share: float):
        return self.rng.choice(items) if items and self.rng.random() < share else None

    # The record ----------------------------------------------------------------------------

    def generate(self) -> Record:
        self.lengths = self.history_lengths(
            {
                "agreement": self.sizes.agreements,
                "clause": self.sizes.clauses,
                "topic": self.sizes.topics,
                "funding_source": self.sizes.funding_sources,
            }
        )
        with transaction.atomic():
            users = self.users()
            parties = self.parties()
            people = self.people(parties)
            sources = self.sources()
            programmes = self.programmes()
            histories: list[tuple[str, models.Model, list[str]]] = []
            funding = self.funding_sources(programmes, parties, sources, histories)
            agreements = self.agreements(programmes, parties, histories)
            clauses = self.clauses(agreements, parties, histories)
            topics = self.topics(parties, histories)
            milestones = self.milestones(agreements, topics, programmes, sources)
            self.statements(people, agreements, topics, sources)
            self.status_changes(histories, users["editors"], sources)
            self.negotiation(agreements[0], clauses, users["editors"], sources)
            # Last, so that the rows before are drawn as they were before links existed.
            self.links(agreements, clauses, topics, funding, milestones, users["editors"], sources)
        return Record(
            agreement=agreements[0].slug,
            clause=next(c.pk for c in clauses if c.agreement_id == agreements[0].pk),
            topic=topics[0].slug,
            programme=programmes[0].slug,
            stakeholders=users["stakeholders"],
            editors=users["editors"],
        )

    def users(self) -> dict[str, list[User]]:
        total = self.sizes.users
        editors = max(total // 50, 1)
        managers = max(total // 10, 1)
        counts = {"editors": editors, "managers": managers}
        counts["stakeholders"] = max(total - editors - managers, 1)
        # One hash for everyone: hashing 500 passwords would take minutes and test nothing.
        password = make_password(PASSWORD)
        groups = {
            "editors": Group.objects.get(name="Editors"),
            "managers": Group.objects.get(name="Managers"),
            "stakeholders": Group.objects.get(name="Stakeholders"),
        }
        people = {
            role: [
                User(
                    username=f"{role[:-1]}-{number:04d}",
                    email=f"{role[:-1]}-{number:04d}@example.org",
                    password=password,
                    is_staff=role == "editors",
                )
                for number in range(1, count + 1)
            ]
            for role, count in counts.items()
        }
        insert(User, [user for users in people.values() for user in users], "users")
        Membership = User.groups.through
        Membership.objects.bulk_create(
            Membership(user_id=user.pk, group_id=groups[role].pk)
            for role, users in people.items()
            for user in users
        )
        # Managers get the weekly digest of everything they can see, started a week ago.
        week_ago = timezone.now() - datetime.timedelta(days=8)
        Subscription.objects.bulk_create(
            Subscription(user=user, created_at=week_ago, next_due_at=timezone.now())
            for user in people["managers"]
        )
        return people

    def parties(self) -> list[Party]:
        kinds = Party.Kind.values
        return insert(
            Party,
            [
                Party(
                    name=f"Party {number} {self.title(2)}",
                    short_name=f"P{number}",
                    slug=f"party-{number:03d}",
                    kind=self.rng.choice(kinds),
                )
                for number in range(1, self.sizes.parties + 1)
            ],
            "parties",
        )

    def people(self, parties: list[Party]) -> list[Person]:
        return insert(
            Person,
            [
                Person(
                    name=f"Person {number}",
                    party=self.rng.choice(parties),
                    role=self.title(3),
                    visibility=self.visibility(),
                )
                for number in range(1, self.sizes.people + 1)
            ],
            "people",
        )

    def sources(self) -> list[Source]:
        return insert(
            Source,
            [
                Source(
                    title=f"Report {number}: {self.title(5)}",
                    publisher=self.rng.choice(PUBLISHERS),
                    kind=self.rng.choice(Source.Kind.values),
                    published_on=self.day(),
                    url=f"https://news.example.org/{number}",
                    visibility=self.visibility(),
                )
                for number in range(1, self.sizes.sources + 1)
            ],
            "sources",
        )

    def programmes(self) -> list[Programme]:
        programmes = []
        for number in range(1, self.sizes.programmes + 1):
            cost = Decimal(self.rng.randrange(100, 3000)) * 1_000_000
            programmes.append(
                Programme(
                    name=f"Programme {number} {self.title(2)}",
                    slug=f"programme-{number:03d}",
                    summary=self.words(30),
                    estimated_cost=cost,
                    amount_in_question=cost * Decimal(self.rng.randrange(5, 40)) / 100,
                    # The pages' first programme is always one a stakeholder can read.
                    visibility=Visibility.SHARED if number == 1 else self.visibility(),
                )
            )
        return insert(Programme, programmes, "programmes")

    def history(self, statuses: list[str], length: int) -> list[str]:
        """A walk through the statuses that never stays put: each step changes something."""
        walk = [self.rng.choice(statuses)]
        while len(walk) < length:
            walk.append(self.rng.choice([status for status in statuses if status != walk[-1]]))
        return walk

    def history_lengths(self, counts: dict[str, int]) -> dict[str, list[int]]:
        """Split the status changes over the records: one creation row each, the rest
        spread at random, clauses getting most as they do in a real negotiation."""
        weights = {"agreement": 3, "clause": 1, "topic": 2, "funding_source": 2}
        subjects = [(kind, index) for kind, count in counts.items() for index in range(count)]
        lengths = {kind: [1] * count for kind, count in counts.items()}
        extra = max(self.sizes.status_changes - len(subjects), 0)
        for kind, index in self.rng.choices(
            subjects, [weights[kind] for kind, _ in subjects], k=extra
        ):
            lengths[kind][index] += 1
        return lengths

    def with_histories(self, kind, rows, statuses, histories) -> None:
        """Give each row a history; its status is where the history ends."""
        for row, length in zip(rows, self.lengths[kind], strict=True):
            walk = self.history(statuses, length)
            row.status = walk[-1]
            histories.append((kind, row, walk))

    def funding_sources(self, programmes, parties, sources, histories) -> list[FundingSource]:
        rows = []
        for number in range(1, self.sizes.funding_sources + 1):
            decision_on, precision = self.approximate_day()
            rows.append(
                FundingSource(
                    programme=programmes[number % len(programmes)],
                    title=f"Contribution {number}: {self.title(3)}",
                    contributor=self.maybe(parties, 0.8),
                    amount=Decimal(self.rng.randrange(1, 200)) * 1_000_000,
                    condition=self.words(12),
                    decision_on=decision_on,
                    decision_precision=precision,
                    source=self.maybe(sources, 0.5),
                    visibility=self.visibility(),
                )
            )
        self.with_histories("funding_source", rows, FundingSource.Status.values, histories)
        return insert(FundingSource, rows, "funding sources")

    def agreements(self, programmes, parties, histories) -> list[Agreement]:
        rows = [
            Agreement(
                title=f"Agreement {number}: {self.title(5)}",
                slug=f"agreement-{number:04d}",
                programme=self.maybe(programmes, 0.9),
                summary=self.words(60),
                visibility=Visibility.SHARED if number == 1 else self.visibility(),
            )
            for number in range(1, self.sizes.agreements + 1)
        ]
        self.with_histories("agreement", rows, Agreement.Status.values, histories)
        insert(Agreement, rows, "agreements")
        Link = Agreement.parties.through
        Link.objects.bulk_create(
            Link(agreement_id=agreement.pk, party_id=party.pk)
            for agreement in rows
            for party in self.rng.sample(parties, self.rng.randint(2, 4))
        )
        return rows

    def clauses(self, agreements, parties, histories) -> list[Clause]:
        rows = []
        for number in range(self.sizes.clauses):
            agreement = agreements[number % len(agreements)]
            position = number // len(agreements) + 1
            rows.append(
                Clause(
                    agreement=agreement,
                    reference=str(position),
                    position=position,
                    title=self.title(6),
                    text=self.words(80),
                    obligated_party=self.maybe(parties, 0.7),
                    visibility=(
                        Visibility.SHARED if agreement == agreements[0] else self.visibility()
                    ),
                )
            )
        self.with_histories("clause", rows, Clause.Status.values, histories)
        return insert(Clause, rows, "clauses")

    def topics(self, parties, histories) -> list[Topic]:
        rows = [
            Topic(
                title=f"Topic {number}: {self.title(4)}",
                slug=f"topic-{number:05d}",
                summary=self.words(40),
                next_step=self.title(6),
                visibility=Visibility.SHARED if number == 1 else self.visibility(),
            )
            for number in range(1, self.sizes.topics + 1)
        ]
        self.with_histories("topic", rows, Topic.Status.values, histories)
        insert(Topic, rows, "topics")
        Link = Topic.parties.through
        Link.objects.bulk_create(
            Link(topic_id=topic.pk, party_id=party.pk)
            for topic in rows
            for party in self.rng.sample(parties, self.rng.randint(1, 3))
        )
        return rows

    def milestones(self, agreements, topics, programmes, sources) -> list[Milestone]:
        rows = []
        for number in range(1, self.sizes.milestones + 1):
            happens_on, precision = self.approximate_day()
            link = self.rng.choice(["agreement", "topic", "programme", None])
            rows.append(
                Milestone(
                    title=f"Milestone {number}: {self.title(4)}",
                    kind=self.rng.choice(Milestone.Kind.values),
                    happens_on=happens_on,
                    precision=precision,
                    description=self.words(20),
                    agreement=self.rng.choice(agreements) if link == "agreement" else None,
                    topic=self.rng.choice(topics) if link == "topic" else None,
                    programme=self.rng.choice(programmes) if link == "programme" else None,
                    source=self.maybe(sources, 0.3),
                    visibility=self.visibility(),
                )
            )
        return insert(Milestone, rows, "milestones")

    def statements(self, people, agreements, topics, sources) -> None:
        rows = []
        for _number in range(self.sizes.statements):
            on_agreement = self.rng.random() < 0.5
            rows.append(
                Statement(
                    person=self.rng.choice(people),
                    said_on=self.day(),
                    summary=self.words(30),
                    source=self.maybe(sources, 0.8),
                    agreement=self.rng.choice(agreements) if on_agreement else None,
                    topic=None if on_agreement else self.rng.choice(topics),
                    visibility=self.visibility(),
                )
            )
        insert(Statement, rows, "statements")

    def status_changes(self, histories, editors, sources) -> None:
        """Each record's walk as history rows, dated in order, inserted oldest first so
        that ids grow with time as they do in production."""
        span = (self.today - self.first_day).days
        rows = []
        for kind, subject, walk in histories:
            days = sorted(self.rng.randrange(span + 1) for _ in walk)
            previous = ""
            for status, offset in zip(walk, days, strict=True):
                rows.append((kind, subject.pk, previous, status, offset, self.rng.randrange(86400)))
                previous = status
        rows.sort(key=lambda row: (row[4], row[5]))
        midnight = timezone.make_aware(
            datetime.datetime.combine(self.first_day, datetime.time()), datetime.UTC
        )
        progress = Progress("status changes", len(rows))
        for batch in batches(rows):
            StatusChange.objects.bulk_create(
                StatusChange(
                    kind=kind,
                    **{f"{kind}_id": subject_id},
                    from_status=from_status,
                    to_status=to_status,
                    recorded_by=self.rng.choice(editors),
                    recorded_at=midnight + datetime.timedelta(days=offset, seconds=second),
                    effective_on=self.first_day + datetime.timedelta(days=offset),
                    note=self.words(8) if self.rng.random() < 0.3 else "",
                    source=self.maybe(sources, 0.2),
                )
                for kind, subject_id, from_status, to_status, offset, second in batch
            )
            progress.advance(len(batch))

    def negotiation(self, agreement, clauses, editors, sources) -> None:
        """The negotiation of the agreement the bench visits: its first clause's text went
        through VERSIONS versions (its text is the last), every other clause has its text as
        version 1, and POSITIONS positions of its parties, in the order they were taken."""
        own = [clause for clause in clauses if clause.agreement_id == agreement.pk]
        parties = list(agreement.parties.all())
        first_day = self.first_day
        versions = [
            ClauseVersion(
                clause=own[0],
                number=number,
                text=own[0].text if number == VERSIONS else self.words(80),
                proposed_by=self.maybe(parties, 0.8),
                kind=self.rng.choice(ClauseVersion.Kind.values),
                proposed_on=first_day + datetime.timedelta(days=number),
                recorded_by=self.rng.choice(editors),
                source=self.maybe(sources, 0.5),
            )
            for number in range(1, VERSIONS + 1)
        ] + [
            ClauseVersion(
                clause=clause,
                number=1,
                text=clause.text,
                proposed_on=first_day,
                recorded_by=self.rng.choice(editors),
            )
            for clause in own[1:]
        ]
        insert(ClauseVersion, versions, "clause versions")
        latest = {version.clause_id: version for version in versions}  # the last of each
        stances = Position.Stance.values
        rows = []
        for number in range(POSITIONS):
            clause = self.rng.choice(own)
            stance = self.rng.choice(stances)
            rows.append(
                Position(
                    party=self.rng.choice(parties),
                    clause=clause,
                    version=latest[clause.pk],
                    stance=stance,
                    reservation=(
                        self.rng.choice(Position.ReservationKind.values)
                        if stance == Position.Stance.RESERVES
                        else ""
                    ),
                    taken_on=first_day + datetime.timedelta(days=VERSIONS + number),
                    recorded_by=self.rng.choice(editors),
                    source=self.maybe(sources, 0.5),
                    visibility=self.visibility(),
                )
            )
        insert(Position, rows, "positions")

    def links(self, agreements, clauses, topics, funding, milestones, editors, sources) -> None:
        """Sizes.links links, as `services.record_links` would accept them: one per kind and
        pair, a blocker's condition fitting its kind, no cycle (FIRST_TO_LAST). The records
        the bench visits come first, shared: agreement-0001 and its first clause wait on
        topic-00001 and on milestones still ahead (the idle rule's "waiting"), the first
        clause holds up later ones, so that every links panel and /blocked/ has rows."""
        today = self.today
        self.link_rows: list[Link] = []
        self.link_keys: set = set()
        self.link_sources, self.link_editors = sources, editors
        agreement, topic = agreements[0], topics[0]
        clauses_of: dict[int, list[Clause]] = {}
        for clause in clauses:
            clauses_of.setdefault(clause.agreement_id, []).append(clause)
        funding_of: dict[int, list[FundingSource]] = {}
        for source in funding:
            funding_of.setdefault(source.programme_id, []).append(source)

        def shared(*records) -> bool:
            return all(r is None or r.visibility == Visibility.SHARED for r in records)

        far_ahead = today + datetime.timedelta(days=60)
        ahead = [
            m
            for m in milestones
            if m.happens_on > far_ahead and shared(m, m.agreement, m.topic, m.programme)
        ]
        own = clauses_of[agreement.pk]
        # Its programme's money, or (its programme being staff-only) any a reader may see.
        money = [
            source
            for source in funding_of.get(agreement.programme_id, []) or funding
            if shared(source, source.programme)
        ] or [source for source in funding if shared(source, source.programme)]
        BLOCKED_BY, PACKAGE, RELATED = Link.Kind.BLOCKED_BY, Link.Kind.PACKAGE, Link.Kind.RELATED
        Condition = Link.Condition
        first, second = self.rng.sample(ahead, 2)
        for record, kind, other, condition in [
            (agreement, BLOCKED_BY, topic, Condition.TOPIC_AGREED),
            (agreement, BLOCKED_BY, first, Condition.MILESTONE_PASSED),
            (agreement, BLOCKED_BY, self.rng.choice(money), Condition.FUNDING_SECURED),
            (own[0], BLOCKED_BY, topic, Condition.TOPIC_AGREED),
            (own[0], BLOCKED_BY, second, Condition.MILESTONE_PASSED),
            (topic, BLOCKED_BY, first, Condition.MILESTONE_PASSED),
            *((clause, BLOCKED_BY, own[0], Condition.CLAUSE_SIGNED) for clause in own[1:4]),
            *((clause, PACKAGE, own[0], "") for clause in own[4:6]),
            (topic, RELATED, agreement, ""),
        ]:
            self.add_link(record, kind, other, condition=condition, visibility=Visibility.SHARED)
        self.add_link(
            second, Link.Kind.PRECEDES, agreement, lag_days=30, visibility=Visibility.SHARED
        )

        def pair(rows: list) -> tuple:
            """Two rows, the later (by id) first: it is the one that waits."""
            one, two = self.rng.sample(rows, 2)
            return (one, two) if one.pk > two.pk else (two, one)

        def clause_pair() -> tuple[Clause, Clause]:
            return pair(clauses_of[self.rng.choice(agreements).pk])

        def draw(what: str) -> tuple:
            """One link of `what`: (record, kind, other, fields)."""
            pick = self.rng.choice
            if what == "topic blocks":
                record = pick(agreements) if self.rng.random() < 0.6 else pick(funding)
                return record, BLOCKED_BY, pick(topics), {"condition": Condition.TOPIC_AGREED}
            if what == "money blocks":
                record = pick(agreements)
                other = pick(funding_of.get(record.programme_id) or funding)
                return record, BLOCKED_BY, other, {"condition": Condition.FUNDING_SECURED}
            if what == "milestone blocks":
                record = pick([agreements, topics, funding, clauses])
                condition = Condition.MILESTONE_PASSED
                return pick(record), BLOCKED_BY, pick(milestones), {"condition": condition}
            if what == "clause blocks":
                later, earlier = clause_pair()
                condition = pick([Condition.CLAUSE_SIGNED, Condition.CLAUSE_AGREED])
                return later, BLOCKED_BY, earlier, {"condition": condition}
            if what == "agreement blocks":
                later, earlier = pair(agreements)
                return later, BLOCKED_BY, earlier, {"condition": Condition.AGREEMENT_SIGNED}
            if what == "package":
                later, earlier = clause_pair()
                return later, PACKAGE, earlier, {}
            if what == "related":
                kinds = [agreements, topics, funding, clauses]
                return pick(pick(kinds)), RELATED, pick(pick(kinds)), {}
            # "precedes": a milestone before an agreement's, a topic's or a later milestone's step
            followers = pick([agreements, topics, milestones])
            if followers is milestones:
                other, earlier = pair(milestones)
            else:
                earlier, other = pick(milestones), pick(followers)
            return earlier, Link.Kind.PRECEDES, other, {"lag_days": pick(LAG_DAYS)}

        kinds, weights = list(LINK_SHARES), list(LINK_SHARES.values())
        attempts = self.sizes.links * 20
        while len(self.link_rows) < self.sizes.links and attempts:
            attempts -= 1
            record, kind, other, fields = draw(self.rng.choices(kinds, weights)[0])
            self.add_link(record, kind, other, visibility=self.visibility(), **fields)

        # Of the milestones that block something and whose date is over, half are marked
        # done, on their date: lifted "since" a day rather than "since" a month or a year.
        done = []
        for link in self.link_rows:
            milestone = link.to_milestone
            if (
                link.kind == BLOCKED_BY
                and milestone is not None
                and milestone.done_on is None
                and milestone.happens_on < today
                and self.is_over(milestone)
                and self.rng.random() < DONE_SHARE
            ):
                milestone.done_on = milestone.happens_on
                done.append(milestone)
        Milestone.objects.bulk_update(done, ["done_on"], batch_size=BATCH_SIZE)
        insert(Link, self.link_rows, "links")

    def is_over(self, milestone: Milestone) -> bool:
        """Its whole date (a day, a month, a year) is before today, as `_milestone_passed`."""
        starts = {
            DatePrecision.DAY: self.today,
            DatePrecision.MONTH: self.today.replace(day=1),
            DatePrecision.YEAR: self.today.replace(month=1, day=1),
        }
        return milestone.happens_on < starts[milestone.precision]

    def add_link(self, record, kind: str, other, **fields) -> None:
        """Queue a link unless one of its kind joins the same two records (either way round
        for the symmetric kinds), or it joins a record with itself."""
        side, other_side = SIDE_BY_MODEL[type(record)], SIDE_BY_MODEL[type(other)]
        ends = ((side, record.pk), (other_side, other.pk))
        if ends[0] == ends[1]:
            return
        symmetric = kind in (Link.Kind.PACKAGE, Link.Kind.RELATED)
        key = (kind, frozenset(ends) if symmetric else ends)
        if key in self.link_keys:
            return
        if kind in (Link.Kind.BLOCKED_BY, Link.Kind.PRECEDES):
            # "A blocked by B": B comes first; "A precedes B": A does.
            first, then = ends[::-1] if kind == Link.Kind.BLOCKED_BY else ends
            rank = {name: number for number, name in enumerate(FIRST_TO_LAST)}
            assert (rank[first[0]], first[1]) < (rank[then[0]], then[1]), (kind, ends)
        self.link_keys.add(key)
        linked_on = self.day()
        self.link_rows.append(
            Link(
                kind=kind,
                **{side: record, f"to_{other_side}": other},
                linked_on=linked_on,
                note=self.words(10) if self.rng.random() < 0.3 else "",
                source=self.maybe(self.link_sources, 0.3),
                recorded_by=self.rng.choice(self.link_editors),
                recorded_at=timezone.make_aware(
                    datetime.datetime.combine(linked_on, datetime.time()), datetime.UTC
                )
                + datetime.timedelta(seconds=self.rng.randrange(86400)),
                **fields,
            )
        )


def generate(sizes: Sizes, seed: int) -> Record:
    return Generator(sizes, seed).generate()

"""The demo negotiation: ESA and Roscosmos on ExoMars, as reported in late November 2012.

`manage.py load_demo` calls `load_demo()`. The facts are those of DESIGN.md ("Facts for the
demo data"), written in our own words. Loading is idempotent: every row is found by a
natural key (a slug, a name, a title), so a second run finds what the first one created.
Records with a status are created through `services.record_creation` and moved through
`services.change_status` only when they are new: once a record exists, its history is the
record of what happened, and the demo does not rewrite it.

The record texts are data, like anything an editor types in the admin, so they are stored
in English rather than marked for translation.
"""

from __future__ import annotations

import datetime
import itertools
import os
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from axes.utils import reset as reset_login_failures
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction

from . import services
from .audit_trail import recorded
from .models import (
    SIDE_BY_MODEL,
    SIDES,
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
    Subscription,
    Topic,
)
from .roles import ensure_roles

# Documented in the command's help and printed after loading: the demo is for trying the
# tracker out on a laptop, where a known password is the point. Set DEMO_PASSWORD for
# anything shared.
DEFAULT_DEMO_PASSWORD = "exomars-demo-2012"
DEMO_PASSWORD_VARIABLE = "DEMO_PASSWORD"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    group: str
    is_staff: bool
    description: str


DEMO_ACCOUNTS = (
    DemoAccount("editor", "Editors", True, "staff: edits the record in /admin/"),
    DemoAccount("stakeholder", "Stakeholders", False, "reads the tracker"),
    DemoAccount("manager", "Managers", False, "reads the tracker, gets a weekly digest"),
)

DAY, MONTH, YEAR = DatePrecision.DAY, DatePrecision.MONTH, DatePrecision.YEAR
DRAFT_APPROVED_ON = datetime.date(2012, 11, 19)
# The report does not say which day of that week the ministerial council opened, nor when
# Nordlund spoke; both are recorded on the day after the draft was approved.
MINISTERIAL_ON = datetime.date(2012, 11, 20)
REPORT_PUBLISHED_ON = datetime.date(2012, 11, 21)
# The history is recorded as if an editor entered the report the morning after it came
# out, one minute per row, so that rows with the same effective date keep their order.
FIRST_RECORDED_AT = datetime.datetime(2012, 11, 22, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Step:
    """One line of a record's history: the status it reached, when, and why."""

    status: str
    effective_on: datetime.date
    note: str


Report = Callable[[str], None]


class DemoCannotLoad(Exception):
    """The demo cannot be loaded here as things stand; the message says what to do."""


def demo_password() -> str:
    return os.environ.get(DEMO_PASSWORD_VARIABLE) or DEFAULT_DEMO_PASSWORD


def load_demo(report: Report = lambda line: None) -> dict[str, AbstractUser]:
    """Load the whole demo in one transaction and return the demo accounts by username."""
    password = demo_password()
    # A weak DEMO_PASSWORD would be refused by the password rules anyway; say so now.
    try:
        validate_password(password)
    except ValidationError as error:
        raise DemoCannotLoad(
            f"{DEMO_PASSWORD_VARIABLE} is too weak for the password rules: "
            + " ".join(error.messages)
        ) from error
    # The demo's writes are audit events of `load_demo`, made as the demo editor.
    with transaction.atomic(), recorded(command="load_demo"):
        accounts = ensure_demo_accounts(password, report)
        recorded(user=accounts["editor"].pk)
        DemoLoader(editor=accounts["editor"], report=report).load()
        subscribe_manager(accounts["manager"], report)
    return accounts


def ensure_demo_accounts(password: str, report: Report) -> dict[str, AbstractUser]:
    """Create the three demo accounts, or make existing ones usable again."""
    user_model = get_user_model()
    accounts = {}
    # The roles migration made the groups; a flushed database has lost them, so reset them.
    ensure_roles()
    groups = Group.objects.in_bulk([account.group for account in DEMO_ACCOUNTS], field_name="name")
    for account in DEMO_ACCOUNTS:
        group = groups[account.group]
        user, created = user_model.objects.get_or_create(
            username=account.username,
            defaults={"email": f"{account.username}@example.org"},
        )
        # Reset what a demo session may have changed: the password, the role, the lockout.
        user.set_password(password)
        user.is_active = True
        user.is_staff = account.is_staff
        user.is_superuser = False
        user.save()
        user.groups.set([group])
        reset_login_failures(username=account.username)
        report(f"{'Created' if created else 'Reset'} account {account.username} ({account.group})")
        accounts[account.username] = user
    return accounts


def subscribe_manager(manager: AbstractUser, report: Report) -> None:
    subscription, created = Subscription.objects.get_or_create(
        user=manager,
        defaults={
            "frequency": Subscription.Frequency.WEEKLY,
            "follows_everything": True,
        },
    )
    report(f"{'Created' if created else 'Found'} subscription {subscription}")


class DemoLoader:
    def __init__(self, *, editor: AbstractUser, report: Report):
        self.editor = editor
        self.report = report
        self.minutes = itertools.count()
        self.source: Source | None = None

    # Helpers -------------------------------------------------------------------------------

    def next_recorded_at(self) -> datetime.datetime:
        return FIRST_RECORDED_AT + datetime.timedelta(minutes=next(self.minutes))

    def plain(
        self, model: type[models.Model], lookup: dict[str, Any], fields: dict[str, Any]
    ) -> Any:
        """A record without a status: found by its natural key, its fields set to the demo's."""
        record, created = model.objects.update_or_create(**lookup, defaults=fields)
        self.report(f"{'Created' if created else 'Found'} {model._meta.verbose_name}: {record}")
        return record

    def with_history(
        self,
        model: type[services.StatusSubject],
        lookup: dict[str, Any],
        fields: dict[str, Any],
        history: Sequence[Step],
    ) -> Any:
        """A record with a status: created and moved through its history only when new."""
        record = model.objects.filter(**lookup).first()
        name = model._meta.verbose_name
        if record is None:
            first, *later = history
            record = model(**lookup, **fields, status=first.status)
            services.record_creation(
                record,
                by=self.editor,
                note=first.note,
                effective_on=first.effective_on,
                source=self.source,
                recorded_at=self.next_recorded_at(),
            )
            for step in later:
                services.change_status(
                    record,
                    to=step.status,
                    by=self.editor,
                    note=step.note,
                    effective_on=step.effective_on,
                    source=self.source,
                    recorded_at=self.next_recorded_at(),
                )
            path = " -> ".join(step.status for step in history)
            self.report(f"Created {name}: {record} ({path})")
            return record

        # The status stays as recorded; only the descriptive fields go back to the demo's.
        changed = [field for field, value in fields.items() if getattr(record, field) != value]
        for field in changed:
            setattr(record, field, fields[field])
        if changed:
            record.save(update_fields=[*changed, "updated_at"])
        wanted = history[-1].status
        if record.status == wanted:
            self.report(f"Found {name}: {record} ({record.status})")
        else:
            self.report(
                f"Found {name}: {record} ({record.status}; the demo has {wanted}, left as recorded)"
            )
        return record

    # The record ----------------------------------------------------------------------------

    def load(self) -> None:
        self.source = self.plain(
            Source,
            {"title": "Report on the ExoMars draft agreement between ESA and Roscosmos"},
            {
                "publisher": "Wire report",
                "kind": Source.Kind.NEWS,
                "published_on": REPORT_PUBLISHED_ON,
                "url": "",
            },
        )
        parties = self.load_parties()
        people = self.load_people(parties)
        programme = self.load_programme(parties)
        agreement = self.load_agreement(parties, programme)
        topics = self.load_topics(parties)
        self.load_milestones(programme, agreement, topics)
        self.load_statements(people, agreement, topics)
        self.load_negotiation(parties, agreement, topics)
        self.load_links(programme, agreement, topics)

    def load_parties(self) -> dict[str, Party]:
        rows = [
            ("esa", "European Space Agency", "ESA", Party.Kind.AGENCY),
            ("roscosmos", "Russian Federal Space Agency", "Roscosmos", Party.Kind.AGENCY),
            ("italy", "Italy", "", Party.Kind.STATE),
            ("romania", "Romania", "", Party.Kind.STATE),
            ("poland", "Poland", "", Party.Kind.STATE),
            ("esa-spc", "ESA Science Programme Committee", "SPC", Party.Kind.COMMITTEE),
        ]
        return {
            slug: self.plain(
                Party, {"slug": slug}, {"name": name, "short_name": short, "kind": kind}
            )
            for slug, name, short, kind in rows
        }

    def load_people(self, parties: dict[str, Party]) -> dict[str, Person]:
        esa = parties["esa"]
        return {
            "nordlund": self.plain(
                Person,
                {"name": "Frederic Nordlund"},
                {"party": esa, "role": "ESA head of international relations"},
            ),
            "dordain": self.plain(
                Person,
                {"name": "Jean-Jacques Dordain"},
                {"party": esa, "role": "ESA Director General"},
            ),
        }

    def load_programme(self, parties: dict[str, Party]) -> Programme:
        programme = self.plain(
            Programme,
            {"slug": "exomars"},
            {
                "name": "ExoMars",
                "summary": (
                    "A Mars exploration programme in two parts: an orbiter launched in 2016 "
                    "and a lander mission launched in 2018. When ESA and Roscosmos approved "
                    "their draft agreement in November 2012, about EUR 350 million of the cost "
                    "was not yet paid for."
                ),
                "currency": "EUR",
                "estimated_cost": 1200 * MILLION,
                "cost_note": "about USD 1.5 billion",
                "amount_in_question": 350 * MILLION,
            },
        )
        secured = FundingSource.Status.SECURED
        found_by_director = (
            "Counted by the report among the money ESA's Director General has found for the gap."
        )
        funding = [
            (
                "Larger Italian contribution",
                parties["italy"],
                30 * MILLION,
                secured,
                "",
                None,
                found_by_director,
            ),
            (
                "New-entrant fees from Romania and Poland",
                None,
                90 * MILLION,
                secured,
                "Paid by Romania and Poland as they join ESA.",
                None,
                found_by_director,
            ),
            (
                "Science Programme Committee contribution",
                parties["esa-spc"],
                50 * MILLION,
                FundingSource.Status.POTENTIAL,
                "Only if the Science Programme Committee approves it; its decision is "
                "expected in February 2013.",
                datetime.date(2013, 2, 1),
                "Possible, not yet decided.",
            ),
            (
                "Launch savings from a shared Proton launch in 2022",
                None,
                120 * MILLION,
                FundingSource.Status.CONTINGENT,
                "Only if ESA and Roscosmos agree to fly Russia's Ganymede mission together "
                "with ESA's Juice to the Jupiter system, on one Proton launch in 2022. No "
                "agreement on Juice has been reached.",
                None,
                "Depends on the Juice talks.",
            ),
        ]
        for title, contributor, amount, status, condition, decision_on, note in funding:
            self.with_history(
                FundingSource,
                {"programme": programme, "title": title},
                {
                    "contributor": contributor,
                    "amount": amount,
                    "condition": condition,
                    "decision_on": decision_on,
                    "decision_precision": MONTH if decision_on else DAY,
                },
                [Step(status, DRAFT_APPROVED_ON, note)],
            )
        return programme

    def load_agreement(self, parties: dict[str, Party], programme: Programme) -> Agreement:
        agreement = self.with_history(
            Agreement,
            {"slug": "exomars-cooperation"},
            {
                "title": "ExoMars cooperation between ESA and Roscosmos",
                "programme": programme,
                "summary": (
                    "ESA and Roscosmos work together on both ExoMars launches. Roscosmos "
                    "provides the launchers, two instruments for the 2016 orbiter and the "
                    "2018 landing module. The draft has the backing of ministers from all 20 "
                    "ESA member states but has not been signed."
                ),
            },
            [
                Step(
                    Agreement.Status.DRAFT,
                    DRAFT_APPROVED_ON,
                    "Draft text negotiated by the two agencies.",
                ),
                Step(
                    Agreement.Status.APPROVED,
                    DRAFT_APPROVED_ON,
                    "ESA and Roscosmos approved the draft; signatures are still to come.",
                ),
            ],
        )
        agreement.parties.set([parties["esa"], parties["roscosmos"]])

        roscosmos = parties["roscosmos"]
        clauses = [
            (
                "1",
                "Proton launchers for both launches",
                "Roscosmos supplies a Proton launch vehicle for the 2016 launch and another "
                "for the 2018 launch.",
            ),
            (
                "2",
                "Two instruments for the 2016 telecom orbiter",
                "Roscosmos contributes two scientific instruments to the telecommunications "
                "orbiter that flies in 2016.",
            ),
            (
                "3",
                "Entry, descent and landing module for 2018",
                "Roscosmos develops the module that takes the 2018 mission down to the surface "
                "of Mars; ESA helps with its development.",
            ),
        ]
        for position, (reference, title, text) in enumerate(clauses, start=1):
            self.with_history(
                Clause,
                {"agreement": agreement, "reference": reference},
                {
                    "position": position,
                    "title": title,
                    "text": text,
                    "obligated_party": roscosmos,
                },
                [
                    Step(Clause.Status.DRAFT, DRAFT_APPROVED_ON, "Part of the draft text."),
                    Step(
                        Clause.Status.PENDING,
                        DRAFT_APPROVED_ON,
                        "Approved with the draft agreement; waits for signature.",
                    ),
                ],
            )
        return agreement

    def load_topics(self, parties: dict[str, Party]) -> dict[str, Topic]:
        both = [parties["esa"], parties["roscosmos"]]
        juice = self.with_history(
            Topic,
            {"slug": "juice-cooperation"},
            {
                "title": "Cooperation on Juice and Ganymede",
                "summary": (
                    "Whether Russia's Ganymede mission and ESA's Jupiter Icy Moons Explorer "
                    "(Juice) could share one Proton launch in 2022. ESA counts EUR 120 million "
                    "of ExoMars savings on it."
                ),
                "next_step": (
                    "Keep talking: the launch is in 2022, so there is time to settle the details."
                ),
            },
            [
                Step(
                    Topic.Status.PROPOSED,
                    DRAFT_APPROVED_ON,
                    "Combining the two Jupiter missions raised as a source of launch savings.",
                ),
                Step(
                    Topic.Status.IN_DISCUSSION,
                    DRAFT_APPROVED_ON,
                    "Discussed alongside the ExoMars draft.",
                ),
                Step(
                    Topic.Status.NO_AGREEMENT,
                    MINISTERIAL_ON,
                    "ESA reports that the talks ended without agreement; ExoMars was settled "
                    "first.",
                ),
            ],
        )
        juice.parties.set(both)
        lunar = self.with_history(
            Topic,
            {"slug": "lunar-robotics"},
            {
                "title": "Lunar robotics",
                "summary": "Robotic exploration of the Moon as a possible area of collaboration.",
                "next_step": "Explore a possible collaboration; nothing concrete yet.",
            },
            [
                Step(
                    Topic.Status.PROPOSED,
                    DRAFT_APPROVED_ON,
                    "Raised as a possible area of collaboration.",
                ),
                Step(
                    Topic.Status.IN_DISCUSSION,
                    MINISTERIAL_ON,
                    "ESA reports that the two agencies discussed it.",
                ),
            ],
        )
        lunar.parties.set(both)
        return {"juice": juice, "lunar": lunar}

    def load_milestones(
        self, programme: Programme, agreement: Agreement, topics: dict[str, Topic]
    ) -> None:
        exomars = {"agreement": agreement, "programme": programme, "topic": None}
        rows: Iterable[tuple[str, str, datetime.date, str, str, dict[str, Any]]] = [
            (
                "ExoMars draft agreement approved",
                Milestone.Kind.DRAFT_APPROVED,
                DRAFT_APPROVED_ON,
                DAY,
                "ESA and Roscosmos approve the draft; it is not yet signed.",
                exomars,
            ),
            (
                "ESA ministerial council",
                Milestone.Kind.MEETING,
                MINISTERIAL_ON,
                DAY,
                "ESA's member states meet at ministerial level on the agency's budget in the "
                "week of the draft's approval. The exact day is approximate. ExoMars is not "
                "formally on the agenda; the draft was discussed on the sidelines.",
                exomars,
            ),
            (
                "Science Programme Committee decision on EUR 50 million",
                Milestone.Kind.DECISION,
                datetime.date(2013, 2, 1),
                MONTH,
                "The committee may approve a EUR 50 million contribution to ExoMars.",
                {"agreement": None, "programme": programme, "topic": None},
            ),
            (
                "ExoMars launch 2016: orbiter",
                Milestone.Kind.LAUNCH,
                datetime.date(2016, 1, 1),
                YEAR,
                "First launch, on a Proton, carrying the telecom orbiter.",
                exomars,
            ),
            (
                "ExoMars launch 2018: landing mission",
                Milestone.Kind.LAUNCH,
                datetime.date(2018, 1, 1),
                YEAR,
                "Second launch, on a Proton, with the entry, descent and landing module.",
                exomars,
            ),
            (
                "Juice and Ganymede launch",
                Milestone.Kind.LAUNCH,
                datetime.date(2022, 1, 1),
                YEAR,
                "Planned launch to the Jupiter system; a shared Proton launch is under discussion.",
                {"agreement": None, "programme": None, "topic": topics["juice"]},
            ),
        ]
        for title, kind, happens_on, precision, description, links in rows:
            self.plain(
                Milestone,
                {"title": title},
                {
                    "kind": kind,
                    "happens_on": happens_on,
                    "precision": precision,
                    "description": description,
                    "source": self.source,
                    **links,
                },
            )

    def load_links(
        self, programme: Programme, agreement: Agreement, topics: dict[str, Topic]
    ) -> None:
        """What holds the signature up (issue 12): the programme's open money, and what
        that money waits on; the three clauses are one package."""
        spc = FundingSource.objects.get(
            programme=programme, title="Science Programme Committee contribution"
        )
        savings = FundingSource.objects.get(
            programme=programme, title="Launch savings from a shared Proton launch in 2022"
        )
        decision = Milestone.objects.get(
            title="Science Programme Committee decision on EUR 50 million"
        )
        clauses = list(agreement.clauses.order_by("position"))
        blocked_by, package = Link.Kind.BLOCKED_BY, Link.Kind.PACKAGE
        rows = [
            (agreement, blocked_by, spc, "The draft cannot be signed while its money is open."),
            (agreement, blocked_by, savings, "The draft cannot be signed while its money is open."),
            (spc, blocked_by, decision, "The committee decides on its contribution."),
            (savings, blocked_by, topics["juice"], "The savings exist only with a Juice deal."),
            *(
                (clause, package, clauses[0], "Approved together with the draft.")
                for clause in clauses[1:]
            ),
        ]
        for record, kind, other, note in rows:
            side, other_side = SIDE_BY_MODEL[type(record)], SIDE_BY_MODEL[type(other)]
            lookup = {
                "kind": kind,
                **{s: None for s in SIDES},
                **{f"to_{s}": None for s in SIDES},
                side: record,
                f"to_{other_side}": other,
            }
            if Link.objects.filter(**lookup).exists():
                self.report(f"Found link: {record} · {kind} · {other}")
                continue
            services.record_link(
                record,
                kind,
                other,
                by=self.editor,
                note=note,
                source=self.source,
                linked_on=DRAFT_APPROVED_ON,
                recorded_at=self.next_recorded_at(),
            )
            self.report(f"Created link: {record} · {kind} · {other}")

    def load_statements(
        self, people: dict[str, Person], agreement: Agreement, topics: dict[str, Topic]
    ) -> None:
        nordlund, dordain = people["nordlund"], people["dordain"]
        rows = [
            (
                nordlund,
                "Told reporters that ESA and Roscosmos have approved the ExoMars draft but not "
                "yet signed it, that the two agencies will work together on the whole "
                "programme, and that ministers of all 20 member states support the draft.",
                {"agreement": agreement, "topic": None},
            ),
            (
                nordlund,
                "Acknowledged that ExoMars funding is not complete: of an estimated "
                "EUR 1.2 billion, around EUR 350 million is still open. ExoMars is not "
                "formally on the ministerial agenda. He sees the programme as part of a new "
                "period of cooperation with Russia.",
                {"agreement": agreement, "topic": None},
            ),
            (
                nordlund,
                "Said the two sides talked about cooperating on Juice without reaching an "
                "agreement; with the launch in 2022 there is time to work out the details, "
                "which is why ExoMars was dealt with first.",
                {"agreement": None, "topic": topics["juice"]},
            ),
            (
                nordlund,
                "Said lunar robotics was discussed as a possible area of collaboration.",
                {"agreement": None, "topic": topics["lunar"]},
            ),
            (
                dordain,
                "Not his words: the report states that the Director General has found most of "
                "the missing EUR 350 million, from a larger Italian contribution, new-entrant "
                "fees, a possible Science Programme Committee contribution and launch savings.",
                {"agreement": agreement, "topic": None},
            ),
        ]
        for person, summary, links in rows:
            # The report is the only trace of the Director General's part: date it so.
            said_on = REPORT_PUBLISHED_ON if person == dordain else MINISTERIAL_ON
            self.plain(
                Statement,
                {"person": person, "summary": summary},
                {"said_on": said_on, "source": self.source, **links},
            )

    def load_negotiation(
        self, parties: dict[str, Party], agreement: Agreement, topics: dict[str, Topic]
    ) -> None:
        """The texts and positions as they stood when the draft was approved: each clause's
        text is the two agencies' joint draft (version 1), which both approved, subject to
        signature (ad referendum). The ministers' backing is a statement, not a position.
        On Juice, ESA put forward a shared launch; Roscosmos has not accepted it."""
        esa, roscosmos = parties["esa"], parties["roscosmos"]
        for clause in agreement.clauses.order_by("position"):
            if not clause.versions.exists():
                services.add_clause_version(
                    clause,
                    text=clause.text,
                    by=self.editor,
                    proposed_by=None,
                    kind=ClauseVersion.Kind.COMPROMISE,
                    proposed_on=DRAFT_APPROVED_ON,
                    source=self.source,
                    note="Joint draft negotiated by the two agencies.",
                    recorded_at=self.next_recorded_at(),
                )
                self.report(f"Created clause version: {clause} v1")
            if clause.positions.exists():
                continue
            for party in (esa, roscosmos):
                services.record_position(
                    party,
                    clause=clause,
                    stance=Position.Stance.ACCEPTS_AD_REFERENDUM,
                    by=self.editor,
                    taken_on=DRAFT_APPROVED_ON,
                    source=self.source,
                    note="Approved with the draft agreement; binding once signed.",
                    recorded_at=self.next_recorded_at(),
                )
            self.report(f"Created positions of ESA and Roscosmos on {clause}")
        juice = topics["juice"]
        if not juice.positions.exists():
            services.record_position(
                esa,
                topic=juice,
                stance=Position.Stance.PROPOSES,
                by=self.editor,
                taken_on=DRAFT_APPROVED_ON,
                source=self.source,
                statement=Statement.objects.filter(topic=juice, person__name__contains="Nordlund")
                .order_by("pk")
                .first(),
                note=(
                    "ESA proposes launching Russia's Ganymede mission together with Juice on "
                    "one Proton in 2022, saving ExoMars launch costs. Roscosmos has not agreed."
                ),
                recorded_at=self.next_recorded_at(),
            )
            self.report("Created ESA's proposal on Juice")

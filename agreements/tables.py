"""The record tables of the reader pages: which columns each one shows, and the words around
the list pages' tables.

A table is a list of `Column`s, given with its rows to the record table component
(`{% record_table rows columns empty %}`, agreements/templatetags/components.py). The
component writes everything else: the headings, the label each cell carries on a
narrow screen, the row's name as its header and link, status badges, dates and amounts as
the reader's language writes them, and a linked record only if the reader may see it. A new
table brings its columns and nothing else; agreements with a count of something per row:

    COLUMNS = [
        Column(_("Agreement"), "title", kind=Kind.NAME),
        Column(_("Status"), kind=Kind.STATUS),
        Column(_("Open blockers"), "open_blockers", kind=Kind.NUMBER),
    ]

A list page (search, status filter, sort, pages: templates/agreements/record_list.html) is
a `RecordList`: its columns and its words.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import reduce
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy


class Kind(enum.StrEnum):
    """What a cell shows, and so how the component writes it."""

    NAME = "name"  # the row's name: its header, linked to its page unless `link=False`
    STATUS = "status"  # the row's status as a badge
    TEXT = "text"  # plain text, "—" when empty
    NOTE = "note"  # free text with its line breaks, nothing when empty
    NUMBER = "number"  # a count, right-aligned
    MONEY = "money"  # an amount in the currency at `currency`, right-aligned
    APPROXIMATE_DATE = "approximate_date"  # a date as precise as `precision` says
    RECORD = "record"  # a linked record (a party), shown only if the reader may see it
    SOURCE = "source"  # a source, linked to where it is published, if the reader may see it
    LEVEL = "level"  # the row's agreement level as a badge (`with_levels()`)
    POSITION = "position"  # a party's position: stance, date, source; "earlier text" if so
    TEMPLATE = "template"  # anything else: `template` is rendered with the row as `row`
    IDLE = "idle"  # "Idle" and its reason ("no activity since 20 Nov 2012"), `with_idle()`


@dataclass(frozen=True)
class Column:
    heading: str
    # Where the cell's value is on the row, dotted for a related record ("programme.currency").
    field: str = ""
    kind: Kind = Kind.TEXT
    # For APPROXIMATE_DATE: the row's precision field; for MONEY: the row's currency field.
    precision: str = ""
    currency: str = ""
    template: str = ""
    link: bool = True

    @property
    def numeric(self) -> bool:
        return self.kind in (Kind.NUMBER, Kind.MONEY)

    def value(self, row, field: str | None = None) -> Any:
        path = self.field if field is None else field
        if not path:
            return None
        return reduce(lambda obj, name: getattr(obj, name, None), path.split("."), row)


@dataclass(frozen=True)
class RecordList:
    """A list page: the table's columns and the words around it."""

    title: str  # of the browser tab
    heading: str
    search_label: str
    filter_label: str
    count: str  # how many match, lazily plural on "count": `count % {"count": 3}`
    empty: str
    columns: list[Column]


# Agreements and topics -------------------------------------------------------------------

AGREEMENTS = [
    Column(_("Agreement"), "title", kind=Kind.NAME),
    Column(_("Status"), kind=Kind.STATUS),
    Column(_("Parties"), "party_names"),
    Column(_("Clauses"), "clause_total", kind=Kind.NUMBER),
    Column(_("Idle clauses"), "idle_clauses", kind=Kind.NUMBER),
    # The day of the last recorded change (`with_last_change()`), as the history dates it.
    Column(_("Updated"), "last_change_on", kind=Kind.APPROXIMATE_DATE),
]

AGREEMENT_LIST = RecordList(
    title=_("Agreements"),
    heading=_("Agreements"),
    search_label=_("Search agreements"),
    filter_label=_("Filter agreements"),
    count=ngettext_lazy("%(count)d agreement", "%(count)d agreements", "count"),
    empty=_("No agreement matches these filters."),
    columns=AGREEMENTS,
)

CLAUSES = [
    Column(_("Ref."), "reference"),
    Column(_("Clause"), "title", kind=Kind.NAME),
    Column(_("Obligated party"), "obligated_party", kind=Kind.RECORD),
    Column(_("Status"), kind=Kind.STATUS),
    Column(_("Agreement level"), kind=Kind.LEVEL),
    Column(_("Idle"), kind=Kind.IDLE),
]

# The negotiation: positions and versions -------------------------------------------------


def position_grid(parties) -> list[Column]:
    """Clauses down, negotiating parties across: a row is a clause from `with_levels()`
    carrying `position_<party pk>` (views.position_grid_rows)."""
    return [
        Column(_("Ref."), "reference"),
        Column(_("Clause"), "title", kind=Kind.NAME),
        Column(_("Agreement level"), kind=Kind.LEVEL),
        *(Column(str(party), f"position_{party.pk}", kind=Kind.POSITION) for party in parties),
    ]


VERSIONS = [
    Column(_("Version"), "label", kind=Kind.NAME),
    Column(_("Kind"), "kind_label"),
    Column(_("Proposed by"), "proposer_name"),
    Column(_("Date"), "proposed_on", kind=Kind.APPROXIMATE_DATE, precision="precision"),
    Column(_("Words changed"), "words_changed", kind=Kind.NUMBER),
    Column(_("Source"), "source", kind=Kind.SOURCE),
    Column(_("Note"), "note", kind=Kind.NOTE),
]

_POSITION_DETAILS = [
    Column(_("Date"), "taken_on", kind=Kind.APPROXIMATE_DATE, precision="precision"),
    Column(_("Party"), "party", kind=Kind.RECORD),
    Column(_("Position"), "stance_label"),
]
_POSITION_NOTES = [
    Column(_("Note"), "note", kind=Kind.NOTE),
    Column(_("Source"), "source", kind=Kind.SOURCE),
]
# A clause's positions over time, and a topic's (which has no versions of a text).
POSITIONS = [*_POSITION_DETAILS, Column(_("On version"), "version.number"), *_POSITION_NOTES]
TOPIC_POSITIONS = [*_POSITION_DETAILS, *_POSITION_NOTES]

TOPICS = [
    Column(_("Topic"), "title", kind=Kind.NAME),
    Column(_("Status"), kind=Kind.STATUS),
    Column(_("Parties"), "party_names"),
    Column(_("Next step"), "next_step"),
    Column(_("Idle"), kind=Kind.IDLE),
]

TOPIC_LIST = RecordList(
    title=_("Topics"),
    heading=_("Topics under discussion"),
    search_label=_("Search topics"),
    filter_label=_("Filter topics"),
    count=ngettext_lazy("%(count)d topic", "%(count)d topics", "count"),
    empty=_("No topic matches these filters."),
    columns=TOPICS,
)

# Money -----------------------------------------------------------------------------------

FUNDING_SOURCES = [
    Column(_("Funding source"), "title", kind=Kind.NAME, link=False),
    Column(_("Contributor"), "contributor", kind=Kind.RECORD),
    Column(_("Amount"), "amount", kind=Kind.MONEY, currency="programme.currency"),
    Column(_("Status"), kind=Kind.STATUS),
    Column(_("Condition"), "condition"),
    Column(
        _("Decision expected"),
        "decision_on",
        kind=Kind.APPROXIMATE_DATE,
        precision="decision_precision",
    ),
    Column(_("Source"), "source", kind=Kind.SOURCE),
]

# The status history ----------------------------------------------------------------------

_EFFECTIVE = Column(_("Effective"), "effective_on", kind=Kind.APPROXIMATE_DATE)
_CHANGE_DETAILS = [
    Column(_("Change"), kind=Kind.TEMPLATE, template="agreements/_transition.html"),
    Column(_("Recorded by"), "author_name"),
    Column(_("Note"), "note", kind=Kind.NOTE),
    Column(_("Source"), "source", kind=Kind.SOURCE),
]

HISTORY = [_EFFECTIVE, *_CHANGE_DETAILS]
# For an agreement's history, which holds its clauses' changes too.
HISTORY_WITH_SUBJECTS = [
    _EFFECTIVE,
    Column(_("Record"), kind=Kind.TEMPLATE, template="agreements/_subject.html"),
    *_CHANGE_DETAILS,
]


# What is blocked (issue 12): one row per open blocker, for /blocked/'s downloads.

BLOCKED = [
    Column(_("Blocked record"), "record", kind=Kind.RECORD),
    Column(_("Blocked by"), "other", kind=Kind.RECORD),
    Column(_("Lifted when"), "condition_label"),
    Column(_("Since"), "linked_on", kind=Kind.APPROXIMATE_DATE),
    Column(_("Note"), "note", kind=Kind.NOTE),
]

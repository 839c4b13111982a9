"""The shared pieces of the reader pages, one job each (the GOV.UK Design System's idea of a
component): a page header, a record table, a history table, a status filter, a redline and
an agreement's status line.

Each is an inclusion tag whose template, in templates/agreements/components/, says at its
top what it is for and what it takes. A page is these pieces and its own few lines; a new
list page brings its columns (agreements/tables.py) and nothing else.

A record table's cells are written here rather than in its template: a list page has a
few hundred of them, and a template deciding each one's kind cost more than the rest of
the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django import template
from django.template.defaultfilters import linebreaksbr
from django.template.loader import get_template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from agreements import redline as redlines
from agreements import tables
from agreements.models import DatePrecision, approximate_date, money, shown_to
from agreements.tables import Column, Kind

from .tracker import source_link, status_badge

register = template.Library()

NOTHING = "—"


def _time(machine: str, shown: str) -> SafeString:
    return format_html('<time datetime="{}">{}</time>', machine, shown)


def _cell(column: Column, row, user) -> object:
    """What a cell of `column` shows of `row`, escaped by whoever writes it out."""
    value = column.value(row)
    kind = column.kind
    if kind == Kind.NAME:
        return value
    if kind == Kind.TEXT:
        return value or NOTHING
    if kind == Kind.STATUS:
        return status_badge(row.status, row.get_status_display())
    if kind == Kind.NUMBER:
        return value
    if kind == Kind.RECORD:
        return shown_to(value, user) or NOTHING
    if kind == Kind.SOURCE:
        if value is None and getattr(row, "no_source_yet", False):
            # Recorded as settled before anyone could cite it: readers are told so.
            return format_html('<em class="no-source">{}</em>', _("No source yet"))
        return source_link(value, user)
    if kind == Kind.NOTE:
        return linebreaksbr(value, autoescape=True)
    if kind == Kind.MONEY:
        return money(value, column.value(row, column.currency))
    if kind == Kind.APPROXIMATE_DATE:
        if not value:
            return NOTHING
        shown = approximate_date(value, column.value(row, column.precision) or DatePrecision.DAY)
        return _time(value.isoformat(), shown)
    if kind == Kind.LEVEL:
        return status_badge(row.level, row.level_label)
    if kind == Kind.POSITION:
        return _position(value, row, user)
    if kind == Kind.TEMPLATE:
        return get_template(column.template).render({"row": row, "user": user})
    if kind == Kind.IDLE:
        return idle_flag(row)
    raise ValueError(f"a column of unknown kind {kind!r}")


def _position(position, clause, user) -> SafeString | str:
    """A grid cell: the stance in words (a badge), when, where from, and whether it was
    taken on an earlier text than the clause's current one."""
    if position is None:
        return NOTHING
    parts = [
        status_badge(f"stance-{position.stance}", position.stance_label),
        _time(position.taken_on.isoformat(), position.when),
    ]
    current = getattr(clause, "current_version_pk", None)
    if position.version_id and current and position.version_id != current:
        parts.append(
            format_html(
                '<span class="note">{}</span>',
                _("on version %(number)s, an earlier text") % {"number": position.version.number},
            )
        )
    source = source_link(position.source, user)
    if source:
        parts.append(source)
    return format_html_join(" ", "{}", ((part,) for part in parts))


@register.simple_tag
def idle_flag(record) -> SafeString | str:
    """ "Idle" in a badge and why ("no activity since 20 Nov 2012"), for a record from
    `with_idle()`; "—" for one that is not idle."""
    if not getattr(record, "is_idle", False):
        return NOTHING
    return format_html(
        '<span class="badge idle">{}</span> <span class="idle-reason">{}</span>',
        _("Idle"),
        record.idle_reason,
    )


class Table:
    """A record table as its template writes it: headings, then rows of finished cells."""

    def __init__(self, rows: Iterable, columns: list[Column], user):
        self.rows, self.columns, self.user = rows, columns, user
        # Each heading translated once, not once a cell (it is also each cell's label).
        self.headings = [(str(column.heading), column.numeric) for column in columns]

    def __bool__(self) -> bool:
        return bool(self.rows)

    def __iter__(self) -> Iterator[SafeString]:
        for row in self.rows:
            cells = []
            for column, (heading, numeric) in zip(self.columns, self.headings, strict=True):
                content = _cell(column, row, self.user)
                if column.kind == Kind.NAME:
                    if column.link:
                        content = format_html(
                            '<a href="{}">{}</a>', row.get_absolute_url(), content
                        )
                    cells.append(format_html('<th scope="row">{}</th>', content))
                else:
                    number = mark_safe(' class="number"') if numeric else ""
                    cells.append(
                        format_html('<td data-label="{}"{}>{}</td>', heading, number, content)
                    )
            # Every cell is format_html's: escaped where it holds text.
            yield mark_safe("".join(cells))


@register.inclusion_tag("agreements/components/page_header.html")
def page_header(title: str, record=None, crumbs=None) -> dict:
    return {"title": title, "record": record, "crumbs": crumbs}


@register.inclusion_tag("agreements/components/status_line.html")
def status_line(agreement) -> dict:
    return {"agreement": agreement}


@register.inclusion_tag("agreements/components/record_table.html", takes_context=True)
def record_table(context, rows, columns: list[Column], empty: str, css_class: str = "") -> dict:
    return {
        "table": Table(rows, columns, context.get("user")),
        "empty": empty,
        "css_class": css_class,
    }


@register.inclusion_tag("agreements/components/record_table.html", takes_context=True)
def history_table(context, changes, with_subjects: bool = False) -> dict:
    """Status changes, newest first as given; `with_subjects` names each change's record (an
    agreement's history holds its clauses' changes too)."""
    columns = tables.HISTORY_WITH_SUBJECTS if with_subjects else tables.HISTORY
    return record_table(
        context, changes, columns, _("No status change recorded yet."), css_class="history"
    )


@register.inclusion_tag("agreements/components/status_filter.html", takes_context=True)
def status_filter(
    context, name: str, legend: str, choices, selected, target: str, stacked: bool = False
) -> dict:
    return {
        "request": context.get("request"),
        "name": name,
        "legend": legend,
        "choices": choices,
        "selected": selected,
        "target": target,
        "stacked": stacked,
    }


def _marked(piece: redlines.Piece) -> SafeString:
    """A piece as HTML: a change is <ins> or <del> with its kind also in words, for readers
    who do not see the colour or the strike-through (WCAG 1.4.1)."""
    if piece.kind == "same":
        return format_html("{}", piece.text)
    element, start, end = (
        ("ins", _("insertion start"), _("insertion end"))
        if piece.kind == "inserted"
        else ("del", _("deletion start"), _("deletion end"))
    )
    return format_html(
        '<{0}><span class="visually-hidden">[{1}] </span>{2}<span class="visually-hidden">'
        " [{3}]</span></{0}>",
        element,
        start,
        piece.text,
        end,
    )


@register.simple_tag
def redline(old: str, new: str | None = None) -> SafeString:
    """`{% redline old new %}`: the new text with what changed from the old marked inline.
    Given one argument, it is pieces already compared (one side of `redline.sides()`)."""
    pieces = old if new is None else redlines.redline(old, new)
    return mark_safe("".join(_marked(piece) for piece in pieces))

"""The shared pieces of the reader pages, one job each (the GOV.UK Design System's idea of a
component): a page header, a record table, a history table and a status filter.

Each is an inclusion tag whose template, in templates/agreements/components/, says at its
top what it is for and what it takes. A page is these pieces and its own few lines; a new
list page brings its columns (agreements/tables.py) and nothing else.
"""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from agreements import tables

register = template.Library()

# An inclusion tag renders in a context of its own: these are what the components and the
# partials they include read from the page's (the reader, for what they may see; the
# request, for the address a filter reloads; the cache settings).
SHARED_CONTEXT = ("user", "request")


def _shared(context) -> dict:
    return {name: context.get(name) for name in SHARED_CONTEXT}


@register.inclusion_tag("agreements/components/page_header.html")
def page_header(title: str, record=None, crumbs=None) -> dict:
    return {"title": title, "record": record, "crumbs": crumbs}


@register.inclusion_tag("agreements/components/record_table.html", takes_context=True)
def record_table(context, rows, columns: list[tables.Column], empty: str, css_class: str = ""):
    return {
        **_shared(context),
        "rows": rows,
        "columns": columns,
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
        **_shared(context),
        "name": name,
        "legend": legend,
        "choices": choices,
        "selected": selected,
        "target": target,
        "stacked": stacked,
    }


register.simple_tag(tables.cells, name="cells")

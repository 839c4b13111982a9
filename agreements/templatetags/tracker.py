"""Template helpers of the reader pages: dates as precise as known, status badges, money."""

from __future__ import annotations

import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from django import template
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from agreements.models import DatePrecision, FundingBreakdown

register = template.Library()


@register.filter
def approximate_date(value: datetime.date | None, precision: str = DatePrecision.DAY) -> str:
    """ "19 Nov 2012", "February 2013" or "2022": a date shown as precisely as it is known."""
    if not value:
        return ""
    if precision == DatePrecision.YEAR:
        return formats.date_format(value, "Y")
    if precision == DatePrecision.MONTH:
        return formats.date_format(value, "YEAR_MONTH_FORMAT")
    # Translators: a date known to the day, in PHP date() syntax as Django uses it.
    return formats.date_format(value, pgettext("day-precise date", "j M Y"))


@register.simple_tag
def status_badge(value: str, label: str) -> SafeString:
    """A status as text in a badge; the colour only repeats what the text says."""
    if not value:
        return format_html('<span class="badge status-none">{}</span>', _("none"))
    return format_html('<span class="badge status-{}">{}</span>', value, label)


@register.filter
def shown_to(record, user):
    """`record` when `user` may see it, else None.

    For records reached through a foreign key of a visible record (a statement's source,
    a clause's obligated party): the join cannot filter them, and an internal one must
    not reach a reader. Lists are filtered by `visible_to` in the query instead.
    """
    if record is None:
        return None
    if getattr(record, "is_internal", False) and not user.is_staff:
        return None
    return record


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    if amount is None:
        return ""
    number = formats.number_format(amount, decimal_pos=0, use_l10n=True, force_grouping=True)
    return f"{currency} {number}".strip()


def _svg_number(value: Decimal) -> str:
    # SVG wants a dot whatever the reader's language.
    return format(Decimal(value).quantize(Decimal("0.1")), "f")


@register.filter
def external_url(url: str) -> str:
    """A link from the record, if it is a web address (never javascript: or data:)."""
    return url if url and urlsplit(url).scheme in {"http", "https"} else ""


@register.filter
def minutes(duration: datetime.timedelta | None) -> int:
    return int(duration.total_seconds() // 60) if duration else 0


@register.inclusion_tag("agreements/_funding_bar.html")
def funding_bar(funding: FundingBreakdown, key: str, title: str = "") -> dict:
    """The gap of a programme as one bar: secured, pledged, contingent, uncovered."""
    parts = [
        ("secured", _("Secured"), funding.secured),
        ("pledged", _("Expected or potential"), funding.expected + funding.potential),
        ("contingent", _("Contingent"), funding.contingent),
        (
            "uncovered",
            _("Uncovered even if everything comes through"),
            funding.uncovered_if_all_comes_through,
        ),
    ]
    segments = []
    start = Decimal(0)
    for part, label, amount in parts:
        share = funding.share(amount)
        width = max(min(share, Decimal(100) - start), Decimal(0))
        segments.append(
            {
                "key": part,
                "label": label,
                "amount": amount,
                "share": share,
                "x": _svg_number(start * 10),
                "width": _svg_number(width * 10),
                "text_x": _svg_number((start + width / 2) * 10),
                "wide": width >= 12,
            }
        )
        start += width
    return {
        "funding": funding,
        "segments": segments,
        "title": title,
        "bar_id": f"funding-{key}",
    }

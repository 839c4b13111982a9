"""Template helpers of the reader pages: dates as precise as known, status badges, money.

The filters are the models' own functions (`agreements.models`), so that a page, an email,
a feed and the admin write a date, an amount or a hidden record the same way.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from agreements import clock
from agreements.models import (
    FundingBreakdown,
    approximate_date,
    money,
    money_in_words,
    shown_to,
    web_link,
)

register = template.Library()


register.filter("approximate_date", approximate_date)
register.filter("money", money)
register.filter("money_in_words", money_in_words)
# `record|shown_to:user`: the record, or None when the user may not see it.
register.filter("shown_to", shown_to)


@register.simple_tag
def status_badge(value: str, label: str) -> SafeString:
    """A status as text in a badge; the colour only repeats what the text says."""
    if not value:
        return format_html('<span class="badge status-none">{}</span>', _("none"))
    return format_html('<span class="badge status-{}">{}</span>', value, label)


def _svg_number(value: Decimal) -> str:
    # SVG wants a dot whatever the reader's language.
    return format(Decimal(value).quantize(Decimal("0.1")), "f")


@register.filter
def external_url(url: str) -> str:
    """A link from the record, if it is a web address (never javascript: or data:)."""
    return web_link(url)


@register.simple_tag
def source_link(source, user) -> str:
    """Where a fact comes from, linked to where it is published; nothing if `user` may not
    see the source."""
    shown = shown_to(source, user)
    if shown is None:
        return ""
    link = external_url(shown.url)
    if not link:
        return conditional_escape(shown)
    return format_html('<a href="{}" rel="noopener noreferrer external">{}</a>', link, shown)


@register.filter
def days_ago(value: datetime.date | None) -> str:
    """ "today", "yesterday", "6 days ago": how long ago as of `clock.today()`."""
    if value is None:
        return ""
    days = (clock.today() - value).days
    if days <= 0:
        return str(_("today"))
    if days == 1:
        return str(_("yesterday"))
    return ngettext("%(count)d day ago", "%(count)d days ago", days) % {"count": days}


@register.filter
def minutes(duration: datetime.timedelta | None) -> int:
    return int(duration.total_seconds() // 60) if duration else 0


# The bar's colours as SVG presentation attributes too, so that it draws where the site's
# stylesheet does not reach inside an SVG (WeasyPrint's PDF briefing). In a browser the
# stylesheet's rules (tracker.css, .seg-*) take precedence; keep the two in step.
SEGMENT_FILLS = {
    "track": "#eaeef2",
    "secured": "#1a7f37",
    "pledged": "#d4a72c",
    "contingent": "#8250df",
    "uncovered": "#cf222e",
}
SEGMENT_TEXT_FILLS = {"pledged": "#1b1f24"}
GAP_STROKE = "#1b1f24"


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
                "fill": SEGMENT_FILLS[part],
                "text_fill": SEGMENT_TEXT_FILLS.get(part, "#ffffff"),
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
    secured_end = min(funding.share(funding.secured), Decimal(100))
    return {
        "funding": funding,
        "segments": segments,
        # Under the bar, from the end of the secured money to the end: the conservative gap.
        "gap": {
            "x": _svg_number(secured_end * 10 + Decimal("1.5")),
            "end": _svg_number(Decimal("998.5")),
            "width": _svg_number(Decimal(100) - secured_end),
            "stroke": GAP_STROKE,
        },
        "title": title,
        "bar_id": f"funding-{key}",
        "track_fill": SEGMENT_FILLS["track"],
    }

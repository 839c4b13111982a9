"""How a digest reads: its subject, its name and its rendered bodies."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections import Counter

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import events
from ..emails import RenderedEmail, absolute_url, render_email
from ..models import (
    StatusChange,
    Subscription,
)
from .content import (
    MAX_LISTED_CHANGES,
    MAX_LISTED_STATEMENTS,
    ChangeLine,
    ChangeRow,
    DigestContent,
    change_line,
    idle_line,
    statement_line,
)
from .schedule import local_zone


def _change_summary_phrase(change: ChangeRow, count: int) -> str:
    """One part of the subject: "3 clauses signed", "1 topic changed"."""
    kind, to = change.kind, change.to_status
    if not change.from_status:
        phrases = {
            StatusChange.Kind.AGREEMENT: ngettext(
                "%(count)d new agreement", "%(count)d new agreements", count
            ),
            StatusChange.Kind.CLAUSE: ngettext(
                "%(count)d new clause", "%(count)d new clauses", count
            ),
            StatusChange.Kind.TOPIC: ngettext("%(count)d new topic", "%(count)d new topics", count),
            StatusChange.Kind.FUNDING_SOURCE: ngettext(
                "%(count)d new funding source", "%(count)d new funding sources", count
            ),
        }
        return phrases[kind] % {"count": count}
    if kind == StatusChange.Kind.CLAUSE:
        phrase = {
            "draft": ngettext(
                "%(count)d clause back in draft", "%(count)d clauses back in draft", count
            ),
            "pending": ngettext(
                "%(count)d clause pending signature", "%(count)d clauses pending signature", count
            ),
            "signed": ngettext("%(count)d clause signed", "%(count)d clauses signed", count),
            "withdrawn": ngettext(
                "%(count)d clause withdrawn", "%(count)d clauses withdrawn", count
            ),
        }.get(to)
    elif kind == StatusChange.Kind.AGREEMENT:
        phrase = {
            "draft": ngettext(
                "%(count)d agreement back in draft", "%(count)d agreements back in draft", count
            ),
            "approved": ngettext(
                "%(count)d draft agreement approved", "%(count)d draft agreements approved", count
            ),
            "signed": ngettext("%(count)d agreement signed", "%(count)d agreements signed", count),
            "abandoned": ngettext(
                "%(count)d agreement abandoned", "%(count)d agreements abandoned", count
            ),
        }.get(to)
    elif kind == StatusChange.Kind.TOPIC:
        phrase = ngettext("%(count)d topic changed", "%(count)d topics changed", count)
    else:
        phrase = ngettext("%(count)d funding change", "%(count)d funding changes", count)
    if phrase is None:  # a status added later that has no phrase yet
        phrase = ngettext("%(count)d change", "%(count)d changes", count)
    return phrase % {"count": count}


def summarize(content: DigestContent, limit: int = 3) -> str:
    """The subject's middle: the largest groups first, the rest counted."""
    groups: Counter[tuple[str, str, bool]] = Counter()
    example: dict[tuple[str, str, bool], ChangeRow] = {}
    for change in content.changes.rows:
        key = (change.kind, change.to_status, not change.from_status)
        groups[key] += 1
        example.setdefault(key, change)
    parts = [(count, _change_summary_phrase(example[key], count)) for key, count in groups.items()]
    if count := len(content.statements):
        phrase = ngettext("%(count)d new statement", "%(count)d new statements", count)
        parts.append((count, phrase % {"count": count}))
    if count := len(content.versions):
        phrase = ngettext("%(count)d new clause text", "%(count)d new clause texts", count)
        parts.append((count, phrase % {"count": count}))
    if count := len(content.positions):
        phrase = ngettext("%(count)d new position", "%(count)d new positions", count)
        parts.append((count, phrase % {"count": count}))
    if count := len(content.links):
        phrase = ngettext(
            "%(count)d change in what holds it up", "%(count)d changes in what holds it up", count
        )
        parts.append((count, phrase % {"count": count}))
    if count := len(content.idle):
        phrase = ngettext("%(count)d record gone quiet", "%(count)d records gone quiet", count)
        parts.append((count, phrase % {"count": count}))
    parts.sort(key=lambda part: -part[0])  # stable: equal counts keep kind order
    shown = ", ".join(phrase for _, phrase in parts[:limit])
    rest = sum(count for count, _ in parts[limit:])
    if rest:
        return ngettext("%(shown)s and %(count)d more", "%(shown)s and %(count)d more", rest) % {
            "shown": shown,
            "count": rest,
        }
    return shown


def digest_name(content: DigestContent) -> str:
    """What the digest is about, for its subject: the programme(s) involved, else the one
    agreement or topic, else the tracker's name. Only names the user may see."""
    programmes: Counter[str] = Counter()
    for row in content.changes.rows:
        if row.programme_id in content.programme_names:
            programmes[content.programme_names[row.programme_id]] += 1
    for statement in content.statements:
        programme_id = statement.agreement.programme_id if statement.agreement else None
        if programme_id in content.programme_names:
            programmes[content.programme_names[programme_id]] += 1
    if len(programmes) > 2:
        names = ", ".join(name for name, _ in programmes.most_common(2))
        return _("%(names)s and more") % {"names": names}
    if programmes:
        return " & ".join(name for name, _ in programmes.most_common())
    subjects = {
        change.agreement
        or (change.clause.agreement if change.clause else None)
        or change.topic
        or change.funding_source
        for change in content.changes.listed
    } | {statement.agreement or statement.topic for statement in content.statements}
    everything_listed = len(content.changes.listed) == len(content.changes.rows)
    if len(subjects) == 1 and None not in subjects and everything_listed:
        return str(subjects.pop())
    return _("Negotiation tracker")


def negotiation_lines(content: DigestContent, user) -> list[events.Event]:
    shared = content.shared_lines

    def line(kind: str, record, make_event) -> events.Event:
        def make() -> events.Event:
            event = make_event(record, user)
            return dataclasses.replace(event, url=absolute_url(event.url))

        return shared.get(user, (kind, record.pk), make)

    lines = [line("version", version, events.version_event) for version in content.versions] + [
        line("position", position, events.position_event) for position in content.positions
    ]
    lines.sort(key=lambda line: (line.happened_on, line.recorded_at))
    return lines[:MAX_LISTED_CHANGES]


def render_digest(
    subscription: Subscription,
    content: DigestContent,
    *,
    period_start: datetime.datetime,
    period_end: datetime.datetime,
    unsubscribe: str,
) -> RenderedEmail:
    user = subscription.user
    listed = content.changes.listed
    sections: dict[str, list[ChangeLine]] = {
        _("Agreements and clauses"): [],
        _("Topics"): [],
        _("Funding"): [],
    }
    section_of = {
        StatusChange.Kind.AGREEMENT: _("Agreements and clauses"),
        StatusChange.Kind.CLAUSE: _("Agreements and clauses"),
        StatusChange.Kind.TOPIC: _("Topics"),
        StatusChange.Kind.FUNDING_SOURCE: _("Funding"),
    }
    shared = content.shared_lines
    for change in listed:
        sections[section_of[change.kind]].append(
            shared.get(user, ("change", change.pk), lambda c=change: change_line(c, user))
        )
    follows = content.follows
    context = {
        "user": user,
        "frequency": subscription.frequency,
        "name": digest_name(content),
        "summary": summarize(content),
        "period_start": period_start,
        "standing": content.standing,
        "period_end": period_end,
        "sections": [(title, lines) for title, lines in sections.items() if lines],
        "more_changes": len(content.changes.rows) - len(listed),
        "statements": [
            shared.get(user, ("statement", said.pk), lambda said=said: statement_line(said, user))
            for said in content.statements[:MAX_LISTED_STATEMENTS]
        ],
        "more_statements": max(len(content.statements) - MAX_LISTED_STATEMENTS, 0),
        # The negotiation's events, in plain words, each linked to its clause or redline.
        "negotiation": negotiation_lines(content, user),
        # What holds it up: blockers lifted or new (digests/links.py).
        "holds_up": content.links[:MAX_LISTED_CHANGES],
        "upcoming": content.upcoming,
        "overdue": content.overdue,
        # Records that turned idle, once per quiet spell; nothing was closed.
        "idle": [idle_line(record) for record in content.idle[:MAX_LISTED_CHANGES]],
        "follows_everything": follows.everything,
        "followed": [str(record) for record in (*follows.agreements, *follows.topics)],
        "site_url": settings.SITE_URL,
        "timeline_url": absolute_url(reverse("agreements:timeline")),
        # A weekly digest is read before the week's meetings: it offers the one-page briefing.
        "briefing_url": (
            absolute_url(reverse("agreements:briefing_pdf"))
            if subscription.frequency == subscription.Frequency.WEEKLY
            else ""
        ),
        "manage_url": absolute_url(reverse("agreements:subscriptions")),
        "unsubscribe_url": unsubscribe,
    }
    return render_email("digest", context)


@contextlib.contextmanager
def email_locale(language: str):
    """A digest is worded, dated and numbered in its recipient's language
    (`subscription.language_code`) and dated in the site's time zone, whatever the process
    that plans it (a command, an admin request in another language): "19 Nov 2012" and
    "EUR 1,200,000,000" in English, "19 novembre 2012" and "1 200 000 000 EUR" in French."""
    with translation.override(language), timezone.override(local_zone()):
        yield

"""What holds it up, in digests (issue 12): "Juice launch savings no longer blocked: the
topic reached agreement", "ExoMars cooperation newly blocked by …".

Each (link, what happened) goes into exactly one digest of each subscription following the
blocked record, through the ledger (`DigestItem.link` and `link_event`, unique per
subscription), like every other item. Kept in its own module so that planning only asks
`link_items()` for the ledger rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..emails import absolute_url
from ..models import DigestItem, Link, LinkKind
from ..models.digests import LinkEvent
from ..models.links import LiftingCondition

# Why a blocker was lifted, as the line says it.
LIFTED_BECAUSE = {
    LiftingCondition.AGREEMENT_SIGNED: gettext_lazy("the agreement was signed"),
    LiftingCondition.CLAUSE_AGREED: gettext_lazy("the clause was agreed"),
    LiftingCondition.CLAUSE_SIGNED: gettext_lazy("the clause was signed"),
    LiftingCondition.TOPIC_AGREED: gettext_lazy("the topic reached agreement"),
    LiftingCondition.FUNDING_SECURED: gettext_lazy("the money was secured"),
    LiftingCondition.MILESTONE_PASSED: gettext_lazy("its date has passed or it was done"),
}


@dataclass
class LinkLine:
    link: Link
    event: str
    sentence: str
    url: str


def sentence(link: Link, event: str) -> str:
    if event == LinkEvent.LIFTED:
        return _("%(record)s no longer blocked: %(reason)s") % {
            "record": link.record,
            "reason": LIFTED_BECAUSE[LiftingCondition(link.condition)],
        }
    return _("%(record)s newly blocked by %(blocker)s, until %(condition)s") % {
        "record": link.record,
        "blocker": link.other,
        "condition": link.get_condition_display(),
    }


def pending_links(batch) -> dict[int, list[tuple[Link, str]]]:
    """Source (content.py's shape): per subscription, the blockers on a followed record,
    visible to the subscriber, that appeared or were lifted since the subscription started
    and are in none of its digests yet, as (link, what happened): new blockers first, then
    lifted ones, each oldest first. One query per audience, whatever the batch's size; the
    ledger is read afresh for every link, so one committed late is never skipped."""
    from ..dependencies import links_of
    from .content import delivered_to_as, follow_columns, follow_values

    found: dict[int, list[tuple[Link, str]]] = {}
    for reader, members in batch.audiences():
        ids = [subscription.pk for subscription in members]
        started = {subscription.pk: subscription.created_at for subscription in members}
        followers = batch.followers_of(members)
        links = (
            links_of(reader, batch.today)
            .filter(batch.union_of(members).rule("links"), kind=LinkKind.BLOCKED_BY)
            .annotate(
                told_blocked=delivered_to_as(ids, "link", link_event=LinkEvent.BLOCKED),
                told_lifted=delivered_to_as(ids, "link", link_event=LinkEvent.LIFTED),
                **follow_columns("links"),
            )
            .order_by("recorded_at", "pk")
        )
        new: dict[int, list] = defaultdict(list)
        lifted: dict[int, list] = defaultdict(list)
        for link in links:
            # When it was lifted: a blocker lifted before a subscription started is
            # history to that subscriber, not news.
            lifted_on = link.met_on or (
                link.to_milestone.happens_by if link.to_milestone_id else None
            )
            for pk in followers.of("links", follow_values(link, "links")):
                since = started[pk]
                if not link.condition_met:
                    if link.recorded_at >= since and pk not in link.told_blocked:
                        new[pk].append((link, LinkEvent.BLOCKED))
                elif pk not in link.told_lifted and (
                    link.recorded_at >= since
                    or (lifted_on is not None and lifted_on >= since.date())
                ):
                    lifted[pk].append((link, LinkEvent.LIFTED))
        for pk in ids:
            if new.get(pk) or lifted.get(pk):
                found[pk] = new.get(pk, []) + lifted.get(pk, [])
    return found


def link_line(link: Link, event: str) -> LinkLine:
    """The line's words, in the current language."""
    return LinkLine(
        link, event, sentence(link, event), absolute_url(link.record.get_absolute_url())
    )


def link_items(owner: int, delivery, content):
    """The ledger rows of a planned digest's link lines."""
    for line in content.links:
        yield DigestItem(
            subscription_id=owner, delivery=delivery, link=line.link, link_event=line.event
        )

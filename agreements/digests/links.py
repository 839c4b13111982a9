"""What holds it up, in digests (issue 12): "Juice launch savings no longer blocked: the
topic reached agreement", "ExoMars cooperation newly blocked by …".

Each (link, what happened) goes into exactly one digest of each subscription following the
blocked record, through the ledger (`DigestItem.link` and `link_event`, unique per
subscription), like every other item. Kept in its own module so that planning only asks
`link_items()` for the ledger rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..emails import absolute_url
from ..models import DigestItem, Link, LinkKind, Subscription
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


def _followed(follows) -> Q:
    """The links whose blocked record the subscription follows (content.Follows)."""
    if follows.everything:
        return Q()
    agreements, topics, programmes = (
        follows.agreement_ids,
        follows.topic_ids,
        follows.programme_ids,
    )
    return (
        Q(agreement__in=agreements)
        | Q(clause__agreement__in=agreements)
        | Q(topic__in=topics)
        | Q(funding_source__programme__in=programmes)
        | Q(milestone__agreement__in=agreements)
        | Q(milestone__topic__in=topics)
        | Q(milestone__programme__in=programmes)
    )


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


def pending_link_lines(subscription: Subscription, follows, today: datetime.date):
    """The blockers, visible to the subscriber and on a followed record, that appeared or
    were lifted since the subscription started and are in none of its digests yet. Two
    queries; each row's "already told" is an indexed EXISTS on the ledger."""
    from ..dependencies import links_of

    user = subscription.user
    since = subscription.created_at

    def not_yet_told(event: str):
        return ~Exists(
            DigestItem.objects.filter(
                subscription=subscription, link=OuterRef("pk"), link_event=event
            )
        )

    blockers = links_of(user, today).filter(_followed(follows), kind=LinkKind.BLOCKED_BY)
    lines = []
    new = blockers.filter(recorded_at__gte=since, condition_met=False).filter(
        not_yet_told(LinkEvent.BLOCKED)
    )
    for link in new.order_by("recorded_at", "pk"):
        lines.append(LinkLine(link, LinkEvent.BLOCKED, sentence(link, LinkEvent.BLOCKED), ""))
    lifted = blockers.filter(condition_met=True).filter(not_yet_told(LinkEvent.LIFTED))
    for link in lifted.order_by("recorded_at", "pk"):
        # Lifted before the subscription started: history, not news.
        lifted_on = link.met_on or (link.to_milestone.happens_by if link.to_milestone_id else None)
        if link.recorded_at < since and (lifted_on is None or lifted_on < since.date()):
            continue
        lines.append(LinkLine(link, LinkEvent.LIFTED, sentence(link, LinkEvent.LIFTED), ""))
    for line in lines:
        line.url = absolute_url(line.link.record.get_absolute_url())
    return lines


def link_items(subscription: Subscription, delivery, content):
    """The ledger rows of a planned digest's link lines."""
    for line in content.links:
        yield DigestItem(
            subscription=subscription, delivery=delivery, link=line.link, link_event=line.event
        )

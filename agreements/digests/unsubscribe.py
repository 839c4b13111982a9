"""One-click unsubscribe: signed tokens that turn one subscription off without a login."""

from __future__ import annotations

import datetime
import logging

from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..emails import absolute_url
from ..models import (
    Subscription,
)

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "agreements.digests.unsubscribe"
# Long enough for a weekly digest read late (or a retried one); short enough that a link
# in an old forwarded email stops working. An expired link explains how to manage instead.
UNSUBSCRIBE_MAX_AGE = datetime.timedelta(days=60)


EXPIRED = gettext_lazy("This unsubscribe link has expired. Log in to manage your digest instead.")


class BadUnsubscribeToken(Exception):
    """The token is forged, altered, expired or names no subscription; `str()` says which,
    in words for the reader."""


def unsubscribe_token(subscription: Subscription) -> str:
    """A signed, timestamped token naming the subscription and its generation. It grants one
    thing: turning that subscription off, without logging in (RFC 8058 one-click), until
    the digest is next turned back on."""
    return signing.dumps(
        {"subscription": subscription.pk, "generation": subscription.unsubscribe_generation},
        salt=UNSUBSCRIBE_SALT,
    )


def unsubscribe_url(subscription: Subscription) -> str:
    return absolute_url(reverse("agreements:unsubscribe", args=[unsubscribe_token(subscription)]))


def subscription_for_unsubscribe_token(token: str) -> Subscription:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.SignatureExpired as error:
        raise BadUnsubscribeToken(EXPIRED) from error
    except signing.BadSignature as error:
        raise BadUnsubscribeToken(
            _("This unsubscribe link is not valid. It may have been cut or altered.")
        ) from error
    subscription_id = data.get("subscription") if isinstance(data, dict) else None
    subscription = None
    if isinstance(subscription_id, int):
        subscription = Subscription.objects.select_related("user").filter(pk=subscription_id)
        subscription = subscription.first()
    if subscription is None:
        raise BadUnsubscribeToken(_("This unsubscribe link names no subscription any more."))
    # Links signed before the generation existed carry none: they are of the first one.
    if data.get("generation", 0) != subscription.unsubscribe_generation:
        raise BadUnsubscribeToken(EXPIRED)
    return subscription


def turn_off(subscription: Subscription) -> None:
    """Stop the digest. Items already planned are not sent (see `send_delivery`)."""
    subscription.frequency = Subscription.Frequency.OFF
    subscription.next_due_at = None
    subscription.save(update_fields=["frequency", "next_due_at"])
    logger.info("subscription %s turned off", subscription.pk)

"""Making and revoking personal API tokens: the rules, for the subscriptions page and tests.

`issue_token` returns the secret once; only its digest is stored (models/tokens.py).
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ApiToken, can_read, hash_token, new_token_secret
from ..models.tokens import SHOWN_PREFIX_LENGTH

logger = logging.getLogger(__name__)

# Lifetimes a reader may choose, in days; the default is settings.API_TOKEN_DAYS.
LIFETIMES = (30, 90, 180, 365)
# Enough for every script and sheet a person keeps; beyond it, revoke an old one.
MAX_ACTIVE_TOKENS = 20


class TokenRefused(Exception):
    """The token cannot be made; the message is for the reader."""


def issue_token(user, *, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`, and its secret, which is not stored and cannot be shown again."""
    days = days or settings.API_TOKEN_DAYS
    if not can_read(user):
        raise TokenRefused(_("Your account may not read the negotiation record."))
    if not 1 <= days <= max(LIFETIMES):
        raise TokenRefused(_("Choose a lifetime of at most a year."))
    name = name.strip()
    if not name:
        raise TokenRefused(_("Give the token a name, to tell it apart later."))
    now = timezone.now()
    with transaction.atomic():
        # Locks the user's row, so two forms sent at once cannot both pass the count.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if ApiToken.objects.filter(user=user).active(now).count() >= MAX_ACTIVE_TOKENS:
            raise TokenRefused(
                _("You have %(count)d active tokens; revoke one you no longer use first.")
                % {"count": MAX_ACTIVE_TOKENS}
            )
        secret = new_token_secret()
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=secret[:SHOWN_PREFIX_LENGTH],
            secret_hash=hash_token(secret),
            created_at=now,
            expires_at=now + datetime.timedelta(days=days),
        )
    logger.info("api token %s (%s) issued to %s", token.pk, token.prefix, user.get_username())
    return token, secret


def revoke_token(token: ApiToken) -> None:
    """The token stops working with the next request; its row stays, for the owner's list."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        logger.info("api token %s (%s) revoked", token.pk, token.prefix)

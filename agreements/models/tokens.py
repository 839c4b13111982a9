"""Personal API tokens: what a reader's own scripts and spreadsheets log in to the API with.

A token is shown once, when it is made, and stored only as its SHA-256 digest: a copy of
the database gives no one a working token. A slow password hash is not needed: the secret
is 256 random bits, not something a person chose, so it cannot be guessed from its digest.
The first characters are kept in clear (`prefix`) so that the reader can tell their tokens
apart on the page, and a leaked token found in a log can be traced to its row.
"""

from __future__ import annotations

import datetime
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .digests import feed_token_digest

# Every token starts with this, so a secret scanner (or a person) recognises one in a paste.
TOKEN_PREFIX = "trk_"
# Characters kept in clear: "trk_" and the first eight of the secret.
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8


def hash_token(raw: str) -> str:
    """The digest kept of an API token: the same as a feed token's."""
    return feed_token_digest(raw)


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiTokenQuerySet(models.QuerySet):
    def active(self, now: datetime.datetime | None = None):
        """Neither revoked nor expired."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)

    def of(self, user):
        return self.filter(user=user).order_by("-created_at", "-pk")


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(
        pgettext_lazy("thing", "name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “budget sheet”."),
    )
    prefix = models.CharField(_("prefix"), max_length=SHOWN_PREFIX_LENGTH)
    secret_hash = models.CharField(_("secret hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="apitoken_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now: datetime.datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

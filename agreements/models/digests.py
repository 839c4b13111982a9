"""Digest subscriptions and the ledger of what went into which digest."""

from __future__ import annotations

import hashlib
import operator
import secrets
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .history import StatusChange
from .negotiation import Agreement, Clause, Statement, Topic


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


def language_choices() -> list[tuple[str, str]]:
    """The languages the site speaks (settings.LANGUAGES): a callable, so that adding one
    needs no migration."""
    return settings.LANGUAGES


def default_language() -> str:
    return settings.LANGUAGE_CODE


def feed_token_digest(token: str) -> str:
    """What the database keeps of a feed token. A token is 256 random bits, so a fast hash
    is enough: nobody can guess one to match, and a copy of the table opens no feed."""
    return hashlib.sha256(token.encode()).hexdigest()


class SubscriptionFrequency(models.TextChoices):
    OFF = "off", _("Off")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class Subscription(models.Model):
    """Who gets which digest how often, and what they follow."""

    Frequency = SubscriptionFrequency

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="subscription",
        verbose_name=_("user"),
    )
    frequency = models.CharField(
        _("frequency"),
        max_length=10,
        choices=Frequency.choices,
        default=SubscriptionFrequency.WEEKLY,
    )
    hour = models.PositiveSmallIntegerField(
        _("hour"), default=7, help_text=_("Local hour (Europe/Paris) the digest is sent at.")
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), default=0, help_text=_("For weekly digests: 0 is Monday, 6 is Sunday.")
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=language_choices,
        default=default_language,
        help_text=_("Dates and amounts too are written as this language writes them."),
    )
    follows_everything = models.BooleanField(_("follow everything I can see"), default=True)
    agreements = models.ManyToManyField(
        Agreement, blank=True, related_name="subscriptions", verbose_name=_("agreements")
    )
    topics = models.ManyToManyField(
        Topic, blank=True, related_name="subscriptions", verbose_name=_("topics")
    )
    # The optimistic lock of the planner: a conditional update of this field claims the
    # subscription, so two senders never plan the same period.
    next_due_at = models.DateTimeField(_("next due at"), null=True, blank=True)
    # Only a digest of the personal feed token: a backup, a dump or an admin lookup opens no
    # feed. The token itself is shown to its owner once, when made (`issue_feed_token`).
    feed_token_hash = models.CharField(
        _("feed token digest"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Carried by every unsubscribe link; turning the digest back on advances it, so a link
    # from an earlier email cannot turn it off again.
    unsubscribe_generation = models.PositiveIntegerField(
        _("unsubscribe generation"), default=0, editable=False
    )

    class Meta:
        ordering = ["user__username"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=SubscriptionFrequency.values),
                name="subscription_frequency_valid",
            ),
            models.CheckConstraint(condition=Q(hour__lte=23), name="subscription_hour_valid"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="subscription_weekday_valid"),
        ]
        indexes = [models.Index(fields=["next_due_at"], name="subscription_next_due")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_frequency_display()})"

    @property
    def language_code(self) -> str:
        """The digest's language; the site's own if the chosen one is no longer offered."""
        offered = {code for code, _name in settings.LANGUAGES}
        return self.language if self.language in offered else settings.LANGUAGE_CODE

    def issue_feed_token(self) -> str:
        """New personal feed addresses; the previous ones stop working once this is saved.
        Returns the token, which nothing keeps: show it to the owner now."""
        token = new_feed_token()
        self.feed_token_hash = feed_token_digest(token)
        return token


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Not sent, and its items given back to the ledger: the recipient turned the digest off,
    # lost access or changed address, or an item was hidden from them, after planning.
    CANCELLED = "cancelled", _("Cancelled")


class DigestDelivery(models.Model):
    """One digest planned for one subscription and period, and what became of it."""

    Status = DeliveryStatus

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    recipient = models.EmailField(_("recipient"))
    # Stored with the message so that a retry sends the same message, headers included.
    unsubscribe_url = models.URLField(_("unsubscribe link"), max_length=500, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    planned_at = models.DateTimeField(_("planned at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # The bottom line's amounts as this digest gave them, per agreement id: {"12": {"currency":
    # "EUR", "secured_only": "230000000.00", "if_all": "60000000.00"}}, so that the next
    # digest can say what moved since ("EUR 60 million → EUR 35 million").
    standing = models.JSONField(_("bottom line"), default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["-period_end"]
        verbose_name = _("digest delivery")
        verbose_name_plural = _("digest deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"], name="delivery_once_per_period"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"
            ),
        ]
        indexes = [
            # The sender claims pending deliveries whose retry time has come.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription.user} {self.period_end:%Y-%m-%d} ({self.status})"


class LinkEvent(models.TextChoices):
    BLOCKED = "blocked", _("newly blocked")
    LIFTED = "lifted", _("no longer blocked")


ITEM_SUBJECTS = (
    "change",
    "statement",
    "version",
    "position",
    "link",
    "idle_clause",
    "idle_topic",
)


def one_subject() -> Q:
    """Exactly one of a ledger row's subjects is set."""
    rules = [
        Q(**{f"{other}__isnull": other != subject for other in ITEM_SUBJECTS})
        for subject in ITEM_SUBJECTS
    ]
    return reduce(operator.or_, rules)


class DigestItem(models.Model):
    """The ledger: this change (or new statement, clause version or position) went into this
    subscription's digest, once and for all. Exactly one of `change`, `statement`, `version`,
    `position`, `idle_clause` and `idle_topic` is set; each is unique per subscription, which
    is what makes "exactly one digest per change" hold.

    An idle record is named by the record and `idle_since`, the day of the last activity
    before its quiet: it turns idle once per quiet spell, so it is in one digest per spell,
    not in every digest while it stays idle (agreements/models/idle.py)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    delivery = models.ForeignKey(DigestDelivery, on_delete=models.CASCADE, related_name="items")
    change = models.ForeignKey(
        StatusChange, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    version = models.ForeignKey(
        "agreements.ClauseVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    position = models.ForeignKey(
        "agreements.Position", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # What holds it up (issue 12): a blocker that appeared or was lifted. A link deleted by
    # an editor takes its items with it: there is nothing left to tell.
    link = models.ForeignKey(
        "agreements.Link", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    link_event = models.CharField(max_length=10, blank=True, default="")
    idle_clause = models.ForeignKey(
        Clause, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idle_topic = models.ForeignKey(
        Topic, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idle_since = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("digest item")
        verbose_name_plural = _("digest items")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "change"], name="digest_item_once_per_subscription"
            ),
            models.UniqueConstraint(
                fields=["subscription", "statement"], name="digest_statement_once_per_subscription"
            ),
            models.UniqueConstraint(
                fields=["subscription", "version"], name="digest_version_once_per_subscription"
            ),
            models.UniqueConstraint(
                fields=["subscription", "position"], name="digest_position_once_per_subscription"
            ),
            models.UniqueConstraint(
                fields=["subscription", "link", "link_event"],
                name="digest_link_event_once_per_subscription",
            ),
            models.UniqueConstraint(
                fields=["subscription", "idle_clause", "idle_since"],
                name="digest_idle_clause_once_per_spell",
            ),
            models.UniqueConstraint(
                fields=["subscription", "idle_topic", "idle_since"],
                name="digest_idle_topic_once_per_spell",
            ),
            models.CheckConstraint(condition=one_subject(), name="digest_item_one_subject"),
            models.CheckConstraint(
                condition=Q(idle_clause__isnull=True, idle_topic__isnull=True)
                | Q(idle_since__isnull=False),
                name="digest_idle_item_dated",
            ),
            # A link's item says what happened to it: a new blocker, or a blocker lifted.
            models.CheckConstraint(
                condition=Q(link__isnull=True, link_event="")
                | Q(link__isnull=False, link_event__in=LinkEvent.values),
                name="digest_item_link_event",
            ),
        ]

    def __str__(self) -> str:
        subject = next(
            (getattr(self, f"{name}_id") for name in ITEM_SUBJECTS if getattr(self, f"{name}_id")),
            None,
        )
        return f"{self.delivery} · {subject}"

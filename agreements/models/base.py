"""What every record shares: who may read it, and a status only the service may write.

`objects.visible_to(user)` on each model is the one place that decides what a user may read.
Every status is written by `agreements.services.change_status`, which appends a
`StatusChange` row in the same transaction; `StatusRecord` refuses any other write.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

READER_PERMISSION = "agreements.view_agreement"


class Visibility(models.TextChoices):
    SHARED = "shared", _("Shared with readers")
    INTERNAL = "internal", _("Internal (staff only)")


def can_read(user) -> bool:
    """Readers are staff or hold the reader permission (the groups Stakeholders, Managers and
    Editors have it).

    One query, remembered on the user object for the rest of the request: every page asks,
    and `has_perm` would load all of the user's permissions in two.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, "_can_read", None)
    if cached is None:
        cached = reader_permission(user).exists()
        user._can_read = cached
    return cached


def reader_permission(user) -> models.QuerySet:
    """The reader permission, if `user` holds it directly or through a group."""
    from django.contrib.auth.models import Permission

    app_label, codename = READER_PERMISSION.split(".")
    return Permission.objects.filter(content_type__app_label=app_label, codename=codename).filter(
        Q(user=user) | Q(group__user=user)
    )


def shared(prefix: str = "") -> Q:
    return Q(**{f"{prefix}visibility": Visibility.SHARED})


def shared_or_absent(relation: str) -> Q:
    """An optional link to a record that is absent, or present and shared."""
    return Q(**{f"{relation}__isnull": True}) | shared(f"{relation}__")


class VisibleQuerySet(models.QuerySet):
    """Reads start here: `Model.objects.visible_to(user)`."""

    def visibility_rule(self) -> Q:
        return shared()

    def visible_to(self, user):
        if not can_read(user):
            return self.none()
        if user.is_staff:
            return self.all()
        return self.filter(self.visibility_rule())


class VisibleRecord(models.Model):
    visibility = models.CharField(
        _("visibility"),
        max_length=10,
        choices=Visibility.choices,
        default=Visibility.SHARED,
        help_text=_("Internal records are seen by staff only, everywhere."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = VisibleQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_internal(self) -> bool:
        return self.visibility == Visibility.INTERNAL


def visibility_constraint(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(visibility__in=Visibility.values), name=f"{name}_visibility_valid"
    )


# Status-bearing records -----------------------------------------------------------------


class StatusWriteRefused(Exception):
    """Raised when code other than services.change_status tries to write a status."""


class StatusQuerySet(VisibleQuerySet):
    def update(self, **kwargs):
        # A bulk update of `status` would skip the history; only the service writes it.
        if "status" in kwargs:
            raise StatusWriteRefused("status is written only by agreements.services.change_status")
        return super().update(**kwargs)


class StatusRecord(VisibleRecord):
    """A record whose `status` changes only through services.change_status.

    The loaded status is remembered; saving a different one without the service's
    permission slip raises, so no code path can skip the StatusChange row.
    """

    objects = StatusQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_loaded_status", None)
        if (
            not self._state.adding
            and loaded is not None
            and self.status != loaded
            and not getattr(self, "_status_change_in_progress", False)
        ):
            raise StatusWriteRefused(
                f"{type(self).__name__} {self.pk}: status is written only by "
                "agreements.services.change_status"
            )
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._loaded_status = instance.__dict__.get("status")
        return instance


def status_constraint(name: str, choices) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(status__in=choices.values), name=f"{name}_status_valid"
    )

"""What every record shares: who may read it, and a status only the service may write.

`objects.visible_to(user)` on each model is the one place that decides what a user may read.
Every status is written by `agreements.services.change_status`, which appends a
`StatusChange` row in the same transaction; `StatusRecord` refuses any other write.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
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


def remember_readers(users) -> None:
    """`can_read` for many users in one query (none if each is decided without one), so that
    code reading for a batch of users (the digest planner and sender) does not ask per user."""
    from django.contrib.auth import get_user_model

    unknown = {
        user.pk: user
        for user in users
        if user.is_authenticated
        and user.is_active
        and not (user.is_staff or user.is_superuser)
        and getattr(user, "_can_read", None) is None
    }
    if not unknown:
        return
    readers = set(
        get_user_model()
        .objects.filter(pk__in=list(unknown))
        .filter(models.Exists(reader_permission(OuterRef("pk"))))
        .values_list("pk", flat=True)
    )
    for pk, user in unknown.items():
        user._can_read = pk in readers


def audience(user) -> str | None:
    """What `visible_to(user)` depends on, and all it depends on: users of one audience see
    the same records. None for a user who may read nothing.

    Code that reads on behalf of many users at once (the digest planner, the sender's check)
    asks `visible_to` once per audience rather than once per user. A visibility rule that
    came to depend on more of the user (their party, say) must be reflected here.
    """
    if not can_read(user):
        return None
    return "staff" if user.is_staff else "readers"


def reader_permission(user) -> models.QuerySet:
    """The reader permission, if `user` holds it directly or through a group. `user` may be
    an expression (`OuterRef("user_id")`), to ask it inside another query."""
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


def shown_to(record, user):
    """`record` when `user` may see it, else None: the visibility rule for one record in hand.

    For records reached through a foreign key of a visible record (a change's source, a
    clause's obligated party, a speaker's party): the query that found the visible record
    cannot filter them, and an internal one must not reach a reader. Lists are filtered by
    `visible_to` in the query instead.
    """
    if record is None:
        return None
    if getattr(record, "is_internal", False) and not user.is_staff:
        return None
    return record


class ReaderUnknown(Exception):
    """A per-row total was asked of a queryset that did not start from `visible_to(user)`."""


class VisibleQuerySet(models.QuerySet):
    """Reads start here: `Model.objects.visible_to(user)`.

    The queryset remembers its reader, so that the per-row totals chained after it
    (`.with_clause_counts()`, `.with_funding()`, `.with_party_names()`) count only what
    that same reader may see: a page cannot show one reader's rows with another reader's
    totals, nor totals over records nobody asked about. Such a method reads `self.reader`,
    which refuses to answer for a queryset that did not start from `visible_to`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._reader = None

    def _clone(self):
        clone = super()._clone()
        clone._reader = self._reader
        return clone

    @property
    def reader(self):
        if self._reader is None:
            raise ReaderUnknown(
                f"{self.model.__name__}: start from objects.visible_to(user) before asking "
                "for totals, so that they count what that user may see"
            )
        return self._reader

    def visibility_rule(self) -> Q:
        return shared()

    def visible_to(self, user):
        return self._for_reader(user, self._readers_rows)

    def _for_reader(self, user, readers_rows: Callable[[], VisibleQuerySet]):
        """What `user` may see; `readers_rows()` gives a reader group's rows."""
        if not can_read(user):
            queryset = self.none()
        elif user.is_staff:
            queryset = self._without_generated(self.all())
        else:
            queryset = readers_rows()
        queryset._reader = user
        return queryset

    @classmethod
    def as_manager(cls):
        manager = VisibleManager.from_queryset(cls)()
        manager._built_with_as_manager = True
        return manager

    as_manager.queryset_only = True

    def _readers_rows(self):
        return self._without_generated(self.filter(self.visibility_rule()))

    def _without_generated(self, queryset):
        # Generated columns (the search document) are for the database's own use: pages
        # never read them, so they are not sent.
        generated = [f.attname for f in self.model._meta.concrete_fields if f.generated]
        return queryset.defer(*generated) if generated else queryset


class VisibleManager(models.Manager):
    """`objects` of every kind of record: `Model.objects.visible_to(user)` starts from the
    readers' rows built once per process.

    The visibility rule names no reader and no day. Resolving it into a query cost about a
    millisecond of Python for a link's (ten EXISTS, each with its kind's own rule), and the
    agreement page resolved rules 23 times; a copy costs a hundredth of that. Only from the
    model's own manager: a related manager (`clause.versions`) has filtered its queryset
    already, and there the rule joins that filter as usual."""

    _built: dict[tuple, VisibleQuerySet] = {}  # (model, manager's name): the readers' rows

    def visible_to(self, user):
        queryset = self.get_queryset()
        if self is not self.model._meta.managers_map.get(self.name):
            return queryset.visible_to(user)

        def built_once():
            key = (self.model, self.name)
            if key not in self._built:
                self._built[key] = queryset._readers_rows()
            return self._built[key].all()

        return queryset._for_reader(user, built_once)


def aggregate_per_row(related: models.QuerySet, link: str, aggregate, default, outer: str = "pk"):
    """An aggregate over each row's related rows, as a column of the row's own query.

    `related` is already filtered to what the reader may see; `link` is its foreign key to
    the row (or to `outer`, a foreign key of the row). A correlated subquery rather than a
    join, so that one query carries several such columns (clauses by status, funding by
    status, party names) without multiplying rows, and without the GROUP BY that would
    drop the model's default order.
    """
    rows = related.filter(**{link: OuterRef(outer)}).order_by().values(link)
    return Coalesce(Subquery(rows.annotate(total=aggregate).values("total")), default)


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

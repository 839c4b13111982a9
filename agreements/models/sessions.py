"""Sessions that know their user, so that one query loads a request's session and user.

Django's session table keeps the user's id inside the signed session data, where SQL cannot
reach it: a request reads the session, then the user, then (for a reader page) the record's
version and the reader permission, three round trips before the page. `ReaderSession` keeps
the user's id in a column too (written with the data, by `agreements.sessions.SessionStore`),
so that one query joins the session, its user, the record's version and the reader
permission (agreements/sessions.py).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReaderSession(AbstractBaseSession):
    # Deleting a user ends their sessions; the column is only ever what the data says.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )

    class Meta(AbstractBaseSession.Meta):
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    @classmethod
    def get_session_store_class(cls):
        from agreements.sessions import SessionStore

        return SessionStore


class ReaderVisit(models.Model):
    """When the reader's visits began, for the timeline's "Since my last visit".

    A visit is a login session: it begins when the reader logs in and ends when they log
    out or leave it idle for SESSION_COOKIE_AGE (8 hours by default), after which they log
    in again. "Since my last visit" is since the moment the previous visit began. It is
    written at login only (`record_login`), never while the reader reads, so it stays put
    however long they read, reload or come back to a bookmark within this visit; and it
    costs reader pages no query. It counts from the start of the previous visit rather than
    its end (which no request records without a write per page): what was recorded while
    the reader was last here shows again, rather than anything being missed.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("user"),
    )
    began_at = models.DateTimeField(_("this visit began at"))
    previous_began_at = models.DateTimeField(_("previous visit began at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reader visit")
        verbose_name_plural = _("reader visits")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.began_at:%Y-%m-%d %H:%M}"

    @classmethod
    def record_login(cls, user, now) -> None:
        """A visit begins: the one that began before becomes the previous one. One UPDATE,
        so that two logins at once cannot both read the same `began_at`."""
        moved = cls.objects.filter(user=user).update(
            previous_began_at=models.F("began_at"), began_at=now
        )
        if not moved:
            cls.objects.get_or_create(user=user, defaults={"began_at": now})

    @classmethod
    def last_visit_of(cls, user):
        """When the reader's previous visit began; None on their first."""
        return cls.objects.filter(user=user.pk).values_list("previous_began_at", flat=True).first()

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

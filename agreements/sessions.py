"""The session engine and the user lookup that make a request's bookkeeping one query.

`SESSION_ENGINE = "agreements.sessions"` stores sessions in `ReaderSession`, which names
the user in a column. Loading a session then joins, in one query:

- the session (unexpired), and its user, with `is_active` and the password hash;
- the record's version (`RecordVersion`, which keys the cached page parts);
- whether the user holds the reader permission (`reader_permission`).

`SessionUserMiddleware` (in place of Django's AuthenticationMiddleware) takes the user from
that row instead of asking the database again, and checks it exactly as Django's
`auth.get_user` does: the session's user id and backend, the password hash that ends the
session when the password changes, `is_active` through the backend. Every value is read
from PostgreSQL on every request, so a logout, a password change or a deactivation takes
effect on the next request, on every worker and app server (nothing is cached between
requests). Any other case (another backend, a hash to check against an old secret key) goes
through Django's own `auth.get_user`.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from .models import ReaderSession, RecordVersion, reader_permission
from .query_shapes import Shape


class SessionStore(db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self.row: ReaderSession | None = None

    @classmethod
    def get_model_class(cls):
        return ReaderSession

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        try:
            instance.user_id = auth.get_user_model()._meta.pk.to_python(data.get(SESSION_KEY))
        except Exception:
            instance.user_id = None
        return instance

    def _get_session_from_db(self):
        """Django's query (`db.SessionStore._get_session_from_db`), with the user, the
        record's version and the reader permission joined in."""
        try:
            found = SESSION_WITH_USER.rows(session_key=self.session_key, now=timezone.now())
        except SuspiciousOperation as error:
            logger = logging.getLogger(f"django.security.{error.__class__.__name__}")
            logger.warning(str(error))
            found = []
        self.row = found[0] if found else None
        if self.row is None:
            self._session_key = None
        return self.row


def _session_with_user(_reader, session_key: str, now) -> QuerySet:
    version = RecordVersion.objects.filter(pk=RecordVersion.SINGLETON).values("number")
    return (
        ReaderSession.objects.select_related("user")
        .annotate(
            record_version=Subquery(version[:1]),
            readable=Exists(reader_permission(OuterRef("user_id"))),
        )
        .filter(session_key=session_key, expire_date__gt=now)
    )


# The unexpired session with its user, the record's version and the reader permission: the
# query every request makes first, built and compiled once per process (query_shapes.py),
# because building and compiling its joins cost more than running it.
SESSION_WITH_USER = Shape(_session_with_user, session_key=str, now=datetime.datetime)


def session_user(request):
    """`auth.get_user(request)`, from the session's row when it holds the user."""
    session = request.session
    try:
        user_id = auth.get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return auth.get_user(request)
    row = getattr(session, "row", None)
    user = row.user if row is not None else None
    if (
        user is None
        or user.pk != user_id
        or backend_path not in settings.AUTHENTICATION_BACKENDS
        or not issubclass(auth.load_backend(backend_path).__class__, ModelBackend)
    ):
        return auth.get_user(request)
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        # A session made under an older SECRET_KEY, or a changed password: Django decides
        # (it rotates the one and ends the other).
        return auth.get_user(request)
    if not auth.load_backend(backend_path).user_can_authenticate(user):
        return AnonymousUser()
    user._can_read = row.readable
    request.record_version = row.record_version
    return user


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, with the user taken from the session's row."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: cached_user(request))


def cached_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = session_user(request)
    return request._cached_user

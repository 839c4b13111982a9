"""Who may use the API: a personal token or a browser session, a reader, within a rate.

- `BearerTokenAuthentication`: `Authorization: Bearer trk_…`. The token is looked up by its
  SHA-256 digest; a revoked or expired token, or one whose owner is deactivated, is a 401
  at once (nothing is cached between requests).
- `ReaderSessionAuthentication`: the browser's login, for the docs page and for trying the
  API out. Without Django REST framework's CSRF check: the API answers GET and HEAD only,
  so no request through it changes anything (`tests/test_api.py` checks that every
  operation in the schema is a GET).
- `IsReader`: the pages' rule, `can_read(user)`, asked on every request, so a user who
  loses their reader group loses the API with their next request (in the query that reads
  the record's version, for the lists kept in the page cache).
- `TokenRateThrottle`: requests per token (per user for a session), `API_THROTTLE_RATE`.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from exomars_site.proxies import client_address

from ..models import ApiToken, hash_token
from ..record_cache import check_reader

# `last_used_at` is written at most this often per token, not on every request: a script
# paging through the record would otherwise turn each read into a write.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)
# Longer than any token (`trk_` and 43 characters); anything longer is refused unread.
MAX_TOKEN_LENGTH = 100


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2 or len(header[1]) > MAX_TOKEN_LENGTH:
            raise exceptions.AuthenticationFailed(_("Send the token after the word “Bearer”."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("This token is not valid.")) from None
        return self.authenticate_token(raw)

    def authenticate_token(self, raw: str) -> tuple:
        now = timezone.now()
        token = (
            ApiToken.objects.active(now)
            .select_related("user")
            .filter(secret_hash=hash_token(raw))
            .first()
        )
        if token is None or not token.user.is_active:
            # One answer for unknown, revoked, expired and deactivated: a caller learns
            # nothing about which tokens exist.
            raise exceptions.AuthenticationFailed(_("This token is not valid."))
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes a missing or bad token a 401 with `WWW-Authenticate`, not a 403.
        return f'{self.keyword} realm="api"'


class ReaderSessionAuthentication(authentication.SessionAuthentication):
    def enforce_csrf(self, request: Request) -> None:
        """Nothing to protect: the API has no operation that writes (see the module)."""


class IsReader(permissions.BasePermission):
    message = _("Your account may not read the negotiation record.")

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            # Raised rather than returned, so that it is a 401 with `WWW-Authenticate`.
            raise exceptions.NotAuthenticated(
                _("Log in, or send a personal token in the header “Authorization: Bearer …”.")
            )
        # With the record's version, in the same query, for the lists kept in the cache.
        return check_reader(request)


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """One budget per token: two scripts of one reader do not starve each other, and a
    leaked token cannot exhaust its owner's other tokens. A session has one of its own."""

    scope = "api"

    @property
    def cache(self):
        """A cache of its own, so that the page cache's culling cannot forget a rate; looked
        up on each request, as settings (CACHE_URL, tests) choose it."""
        return caches["api-throttle"]

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request: Request, view) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = client_address(request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": ident}

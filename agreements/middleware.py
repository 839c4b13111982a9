"""Middleware for the reader pages."""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRedirectMiddleware:
    """Send an htmx request from an expired session to the login page as a whole page.

    LoginRequiredMiddleware answers with a 302 to the login form; htmx would follow it and
    swap the login form into a fragment. An `HX-Redirect` makes the browser load it instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and not request.user.is_authenticated
        ):
            login = redirect_to_login(
                request.htmx.current_url_abs_path or request.get_full_path(),
                settings.LOGIN_URL,
            )
            return HttpResponseClientRedirect(login["Location"])
        return response


REFRESHED_KEY = "_refreshed_at"


class IdleSessionMiddleware:
    """Push a logged-in session's expiry back as it is used, at most once a minute.

    SESSION_COOKIE_AGE is an idle timeout. `SESSION_SAVE_EVERY_REQUEST` would keep it by
    writing the session row on every request, which turns each page read into a database
    write; this writes at most once per SESSION_REFRESH_SECONDS. A session therefore ends
    between AGE - REFRESH and AGE seconds after its last use.

    Placed right after SessionMiddleware, so the session it marks modified is saved (and its
    cookie renewed) on the way out. A request that never read the session (a static file,
    the health check) is left alone: checking would cost the query it avoided.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or not session.accessed or SESSION_KEY not in session:
            return response
        now = int(time.time())
        if now - session.get(REFRESHED_KEY, 0) >= settings.SESSION_REFRESH_SECONDS:
            session[REFRESHED_KEY] = now
        return response

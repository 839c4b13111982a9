"""Middleware for the reader pages."""

from django.conf import settings
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

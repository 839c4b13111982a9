"""The app's URLs plus `/bench/floor/`: the cheapest answer the middleware stack can give.

Every other figure is read against the floor: what a page costs above the fixed price of
sessions, CSRF, CSP and the rest of MIDDLEWARE.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@login_not_required
def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"floor\n", content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("exomars_site.urls")),
]

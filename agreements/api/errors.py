"""Errors under /api/ are JSON, whatever went wrong and whoever asks.

Every answer that is not a success has the same shape, `{"detail": "…"}`, with `errors`
beside it naming the parameters at fault for a 400. Scripts read these; an HTML error page
would be a parse error in someone's spreadsheet macro.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler


def json_errors(exc: Exception, context: dict) -> Response | None:
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real fault: Django's 500, logged as usual
    if not (isinstance(response.data, dict) and "detail" in response.data):
        response.data = {"detail": _("Some parameters are not valid."), "errors": response.data}
    # The docs pages render HTML; their errors must not (they would render the site's
    # error templates). The renderer the request negotiated is what the response uses.
    request = context.get("request")
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response


class NotFoundView(APIView):
    """Any path under /api/ that names no endpoint: the same checks as the endpoints (401
    for no credentials, 403 for a non-reader), then a JSON 404, never the site's page."""

    @extend_schema(exclude=True)
    def get(self, request: HttpRequest, *args, **kwargs) -> Response:
        raise exceptions.NotFound(_("There is no such address in the API."))

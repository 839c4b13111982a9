"""The API's schema and its reader, Swagger UI, served from the project.

Swagger UI runs under the site's Content Security Policy: its scripts are static files of
drf-spectacular-sidecar (no CDN), its start-up script is a separate request rather than
inline (`SpectacularSwaggerSplitView`), and templates/api/swagger_ui.html replaces the
packaged page, which carries an inline `<style>`.

Redoc, the sidecar's other reader, is left out: its bundle loads its logo from a CDN on
every page and writes inline style attributes, which this policy refuses.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


class SchemaView(SpectacularAPIView):
    pass


class SwaggerView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    title = "Negotiation tracker API"


# The schema: how to authenticate, and the errors every operation may answer ----------------


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "agreements.api.access.BearerTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": _("A personal token from the Subscriptions page: `trk_…`."),
        }


class ReaderSessionScheme(SessionScheme):
    target_class = "agreements.api.access.ReaderSessionAuthentication"


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": _("What went wrong, for a person.")},
        "errors": {
            "type": "object",
            "description": _("For a 400: each parameter at fault, with what is wrong with it."),
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail"],
}
ERRORS = {
    "400": _("A parameter is not valid (`errors` names it)."),
    "401": _("No credentials, or a token that is unknown, expired or revoked."),
    "403": _("The account is in no reader group."),
    "404": _("No such record, or not one you may see."),
    "405": _("The API only reads: GET and HEAD."),
    "429": _("Too many requests with this token; `Retry-After` says when to try again."),
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    """Every operation's error answers, in the one shape `errors.json_errors` gives them."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for status, description in ERRORS.items():
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result

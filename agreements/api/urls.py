"""/api/: version 1 of the read-only API, its OpenAPI schema and its docs.

The API brings its own authentication (a personal token or the session), so the site's
LoginRequiredMiddleware, which would answer a script with a redirect to the login form,
steps aside for these views: each refuses anonymous callers itself, with a JSON 401.
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, include, path, re_path
from rest_framework.routers import DefaultRouter

from . import docs, views
from .errors import NotFoundView

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("agreements", views.AgreementViewSet, basename="agreement")
router.register("clauses", views.ClauseViewSet, basename="clause")
router.register("topics", views.TopicViewSet, basename="topic")
router.register("programmes", views.ProgrammeViewSet, basename="programme")
router.register("funding-sources", views.FundingSourceViewSet, basename="funding-source")
router.register("milestones", views.MilestoneViewSet, basename="milestone")
router.register("statements", views.StatementViewSet, basename="statement")
router.register("sources", views.SourceViewSet, basename="source")
router.register("parties", views.PartyViewSet, basename="party")
router.register("links", views.LinkViewSet, basename="link")
router.register("status-changes", views.StatusChangeViewSet, basename="status-change")
router.register("clause-versions", views.ClauseVersionViewSet, basename="clause-version")
router.register("positions", views.PositionViewSet, basename="position")


def without_site_login(patterns: list[URLPattern]) -> list[URLPattern]:
    for pattern in patterns:
        pattern.callback = login_not_required(pattern.callback)
    return patterns


urlpatterns = [
    path("v1/", include(without_site_login(router.urls))),
    *without_site_login(
        [
            path("schema/", docs.SchemaView.as_view(), name="schema"),
            path("docs/", docs.SwaggerView.as_view(url_name="api:schema"), name="docs"),
            # Any path at all, newlines included.
            re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="not_found"),
        ]
    ),
]

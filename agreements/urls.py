from django.urls import path

from . import feeds, subscriptions, views

app_name = "agreements"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    # Reader pages (agreements/views.py).
    path("agreements/", views.agreement_list, name="agreement_list"),
    path("agreements/<slug:slug>/", views.agreement_detail, name="agreement_detail"),
    path("agreements/<slug:slug>/follow/", subscriptions.follow_agreement, name="follow_agreement"),
    path("agreements/<slug:slug>/positions/", views.position_grid, name="position_grid"),
    path("clauses/<int:pk>/", views.clause_detail, name="clause_detail"),
    path("clauses/<int:pk>/compare/", views.clause_compare, name="clause_compare"),
    path("topics/", views.topic_list, name="topic_list"),
    path("topics/<slug:slug>/", views.topic_detail, name="topic_detail"),
    path("topics/<slug:slug>/follow/", subscriptions.follow_topic, name="follow_topic"),
    path("programmes/<slug:slug>/", views.programme_detail, name="programme_detail"),
    path("timeline/", views.timeline, name="timeline"),
    path("blocked/", views.blocked, name="blocked"),
    path("search/", views.search, name="search"),
    # The one-page briefing (agreements/briefing.py).
    path("briefing/", views.briefing_page, name="briefing"),
    path("briefing.pdf", views.briefing_pdf, name="briefing_pdf"),
    path(
        "agreements/<slug:slug>/briefing.pdf",
        views.agreement_briefing_pdf,
        name="agreement_briefing_pdf",
    ),
    # Digests and personal feeds (agreements/subscriptions.py, agreements/feeds.py).
    path("subscriptions/", subscriptions.subscriptions, name="subscriptions"),
    path("subscriptions/feed-token/", subscriptions.reset_feed_token, name="reset_feed_token"),
    path("subscriptions/api-tokens/", subscriptions.create_api_token, name="create_api_token"),
    path(
        "subscriptions/api-tokens/<int:pk>/revoke/",
        subscriptions.revoke_api_token,
        name="revoke_api_token",
    ),
    path(
        "subscriptions/<int:pk>/preview/",
        subscriptions.subscription_preview,
        name="subscription_preview",
    ),
    path("unsubscribe/<str:token>/", subscriptions.unsubscribe, name="unsubscribe"),
    path("feeds/changes/<str:token>/", feeds.changes_feed, name="changes_feed"),
    path("feeds/milestones/<str:token>.ics", feeds.milestones_calendar, name="milestones_calendar"),
]

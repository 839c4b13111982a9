from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from agreements import views
from agreements.admin import audit_trail_view

# Of Django's account pages, only these: accounts are made and their passwords reset by the
# tracker's administrators (the lockout page says so). A self-service reset would mail
# anyone's address on request, unthrottled.
accounts = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("admin/audit-trail/", admin.site.admin_view(audit_trail_view), name="audit_trail"),
    path("admin/", admin.site.urls),
    path("accounts/", include(accounts)),
    path("healthz", views.healthz, name="healthz"),
    path("api/", include("agreements.api.urls")),
    path("", include("agreements.urls")),
]

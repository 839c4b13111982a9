from django.contrib import admin
from django.urls import include, path

from agreements import views

admin.site.site_header = "Negotiation tracker"
admin.site.site_title = "Negotiation tracker"
admin.site.index_title = "Record"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("", include("agreements.urls")),
]

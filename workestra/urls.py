from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("workestra.site_urls")),
    path("", include("bookings.urls")),
    path("", include("routing.urls")),
    path("", include("notetaker.urls")),
    path("settings/integrations/salesforce/", include("integrations.salesforce.urls")),
    path("", include("bookings.fallback_urls")),  # last: unknown public links
]

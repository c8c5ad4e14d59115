from django.urls import path

from . import health_views, views

app_name = "salesforce"
urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("connect/", views.connect, name="connect"),
    path("callback/", views.callback, name="callback"),
    path("settings/", views.save_settings, name="save_settings"),
    path("mapping/", views.mapping, name="mapping"),
    path("mapping/refresh/", views.mapping_refresh, name="mapping_refresh"),
    path("disconnect/", views.disconnect, name="disconnect"),
    path("links/<int:link_id>/toggle/", views.link_toggle, name="link_toggle"),
    path("health/retry/", health_views.retry_group, name="health_retry"),
    path("health/operations.csv", health_views.export_operations, name="health_export"),
]

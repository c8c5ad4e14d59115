from django.urls import path

from .views import builder, public

app_name = "routing"
urlpatterns = [
    path("routing/", builder.form_list, name="form_list"),
    path("routing/new/", builder.form_new, name="form_new"),
    path("routing/<int:form_id>/edit/", builder.form_edit, name="form_edit"),
    path("routing/<int:form_id>/submissions/", builder.form_submissions, name="form_submissions"),
    path("forms/<slug:workspace_slug>/<slug:form_slug>/", public.public_form, name="public_form"),
]

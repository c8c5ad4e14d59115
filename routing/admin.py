"""Support staff see every routing form (questions and routes inline) and every submission."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from . import selectors
from .models import Question, Route, RoutingForm, Submission


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "key", "label", "kind", "required", "options"]


class RouteInlineFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        fallbacks = [data for data in kept if data.get("is_fallback")]
        if len(fallbacks) != 1:
            raise ValidationError("A form needs exactly one fallback route.")
        if max(data.get("position") or 0 for data in kept) != (fallbacks[0].get("position") or 0):
            raise ValidationError("The fallback route must come last (the highest position).")


class RouteInline(admin.TabularInline):
    model = Route
    formset = RouteInlineFormSet
    extra = 0
    fields = ["position", "conditions", "action", "link", "message", "is_fallback"]
    autocomplete_fields = ["link"]


@admin.register(RoutingForm)
class RoutingFormAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "workspace", "created_at", "updated_at", "problems"]
    list_filter = ["workspace"]
    list_select_related = ["workspace"]
    search_fields = ["name", "slug", "workspace__slug"]
    autocomplete_fields = ["workspace"]
    inlines = [QuestionInline, RouteInline]

    @admin.display(description="Problems")
    def problems(self, obj):
        return " ".join(selectors.form_problems(form=obj)) or "—"


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "email",
        "form",
        "route_label",
        "route_action",
        "used_fallback",
        "owner_name",
        "api_calls",
        "duration_ms",
    ]
    list_filter = ["form", "route_action", "used_fallback", "lookup_cached", "owner_source"]
    list_select_related = ["form__workspace"]
    search_fields = ["email", "name", "owner_email", "owner_name"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Submission._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of where an invitee was sent; written by the public form only

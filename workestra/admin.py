from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from .models import Membership, User, WorkerHeartbeat, Workspace

# The app list stays on the index page: beside every list it costs support ~300 px of the
# 1,440 they have, and the lists (ids, error codes, times) need them.
admin.site.enable_nav_sidebar = False


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self):
        # The manager lowercases emails; the admin form saves without it, so do the same here.
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("A user with this email address already exists.")
        return email


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.StackedInline):
    model = Membership
    fk_name = "user"
    autocomplete_fields = ["workspace"]
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    inlines = [MembershipInline]
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "timezone", "workspace", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "membership__workspace", "membership__role"]
    list_select_related = ["membership__workspace"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "timezone"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]}),
    ]

    def get_inlines(self, request, obj):
        return self.inlines if obj else []  # adding is email + password first, as Django's UserAdmin does

    @admin.display(description="Workspace", ordering="membership__workspace__name")
    def workspace(self, user):
        membership = getattr(user, "membership", None)
        return membership.workspace if membership else "—"


class WorkspaceMembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "created_at"
    inlines = [WorkspaceMembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "joined_at"]
    list_filter = ["role", "workspace"]
    list_select_related = ["user", "workspace"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "workspace__slug"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker", "seen_at"]
    search_fields = ["worker"]
    readonly_fields = ["worker", "seen_at"]
    ordering = ["-seen_at"]

    def has_add_permission(self, request):
        return False

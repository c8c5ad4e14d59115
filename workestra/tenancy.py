"""Every request knows its workspace; every member-facing query goes through it."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404


class WorkspaceMiddleware:
    """Sets request.membership and request.workspace (None for anonymous users)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.workspace = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            membership = getattr(user, "membership", None)
            if membership is not None:
                request.membership = membership
                request.workspace = membership.workspace
        return self.get_response(request)


def workspace_context(request):
    return {"workspace": getattr(request, "workspace", None), "membership": getattr(request, "membership", None)}


def member_required(view):
    """Signed in and a member of a workspace; a user without a workspace sees 404, never data."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.workspace is None:
            raise Http404("You are not a member of any workspace.")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view):
    """A workspace admin; other members get 403."""

    @member_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_admin:
            raise PermissionDenied("Only workspace admins can do this.")
        return view(request, *args, **kwargs)

    return wrapper

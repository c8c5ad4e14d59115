from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .health import health_report


@require_safe
def home(request):
    return redirect("/calendar/" if request.user.is_authenticated else "/accounts/login/")


@never_cache
@require_safe
def healthz(request):
    # Always 200, even when degraded: load balancers and orchestrators act on the status code,
    # and taking web out of rotation because the worker or broker is down would stop invitees
    # from booking too (bookings and their outbox rows only need the database). The "status"
    # field and the parts say what is wrong, for monitoring and for people.
    return JsonResponse(health_report())

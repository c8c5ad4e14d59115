"""Members manage their booking links: list, create, edit, and the Integrations tab."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from workestra.tenancy import member_required

from .. import hooks, link_services, selectors
from ..availability import link_windows
from ..forms import AvailabilityFormSet, LinkForm, availability_initial, windows_from_formset

FORMSET_PREFIX = "availability"


@require_http_methods(["GET", "HEAD"])
@member_required
def link_list(request):
    return render(request, "bookings/link_list.html", {"links": selectors.links_visible(membership=request.membership)})


@require_http_methods(["GET", "HEAD", "POST"])
@member_required
def link_new(request):
    initial = availability_initial(link_services.DEFAULT_WINDOWS)
    form, formset = _bind(request, {"duration_minutes": 30}, initial)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            link = link_services.link_create(
                owner=request.user, **form.cleaned_data, windows=windows_from_formset(formset)
            )
        except link_services.LinkError as error:
            return _render_form(request, None, form, formset, error)
        messages.success(request, f"“{link.title}” is live at {link.get_public_path()}")
        return redirect("bookings:link_edit", link_id=link.pk)
    return _render_form(request, None, form, formset)


@require_http_methods(["GET", "HEAD", "POST"])
@member_required
def link_edit(request, link_id: int):
    link = selectors.link_get_editable(membership=request.membership, link_id=link_id)
    fields = {name: getattr(link, name) for name in LinkForm.base_fields}
    form, formset = _bind(request, fields, availability_initial(link_windows(link)))
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            link_services.link_update(link=link, **form.cleaned_data, windows=windows_from_formset(formset))
        except link_services.LinkError as error:
            return _render_form(request, link, form, formset, error)
        messages.success(request, "Link saved.")
        return redirect("bookings:link_edit", link_id=link.pk)
    return _render_form(request, link, form, formset)


@require_http_methods(["GET", "HEAD"])
@member_required
def link_integrations(request, link_id: int):
    link = selectors.link_get_editable(membership=request.membership, link_id=link_id)
    panels = hooks.collect_panels(hooks.link_integration_panels, request, link)
    return render(request, "bookings/link_integrations.html", {"link": link, "panels": panels, "tab": "integrations"})


def _bind(request, initial: dict, availability: list[dict]):
    if request.method != "POST":
        return LinkForm(initial=initial), AvailabilityFormSet(initial=availability, prefix=FORMSET_PREFIX)
    # Posted rows stand on their own (no initial to compare with): a filled row is validated,
    # a blank one, wherever it is, is skipped.
    formset = AvailabilityFormSet(request.POST, prefix=FORMSET_PREFIX, form_kwargs={"empty_permitted": True})
    return LinkForm(request.POST, initial=initial), formset


def _render_form(request, link, form, formset, error=None):
    availability_error = ""
    if error is not None and error.field == "availability":
        availability_error = error.message
    elif error is not None:
        form.add_error(error.field if error.field in form.fields else None, error.message)
    context = {"link": link, "form": form, "formset": formset, "availability_error": availability_error, "tab": "edit"}
    # Rendered after a POST only when something was refused.
    return render(request, "bookings/link_form.html", context, status=400 if request.method == "POST" else 200)

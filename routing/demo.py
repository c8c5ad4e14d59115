"""The demo's routing form "contact-sales" (SPEC §6): a Salesforce lookup, else Alice's link."""

from bookings.models import BookingLink

from . import services
from .models import Question, Route, RoutingForm
from .rules import QuestionSpec, RouteSpec

FORM_SLUG = "contact-sales"
FALLBACK_OWNER = "alice@acme.test"


def seed_contact_sales_form(workspace) -> RoutingForm:
    """Create the form once; an existing one (perhaps edited by an admin) is left as it is."""
    existing = RoutingForm.objects.filter(workspace=workspace, slug=FORM_SLUG).first()
    if existing is not None:
        return existing
    fallback_link = BookingLink.objects.filter(
        workspace=workspace, owner__email=FALLBACK_OWNER, is_default=True
    ).first()
    if fallback_link is not None:
        fallback = RouteSpec(action=Route.Action.BOOKING_LINK, link_id=fallback_link.pk, is_fallback=True)
    else:
        message = "Thanks! Our sales team will email you shortly."
        fallback = RouteSpec(action=Route.Action.MESSAGE, message=message, is_fallback=True)
    return services.form_save(
        workspace=workspace,
        name="Talk to sales",
        slug=FORM_SLUG,
        questions=[
            QuestionSpec("name", "Your name", Question.Kind.SHORT_TEXT, required=False),
            QuestionSpec("email", "Work email", Question.Kind.EMAIL, required=True),
            QuestionSpec("company", "Company", Question.Kind.SHORT_TEXT, required=True),
        ],
        routes=[RouteSpec(action=Route.Action.SALESFORCE_LOOKUP), fallback],
    )

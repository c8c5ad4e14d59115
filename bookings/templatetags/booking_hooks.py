"""Renders what other apps hand to booking pages through bookings.hooks."""

from django import template
from django.template.loader import render_to_string

register = template.Library()


@register.simple_tag(takes_context=True)
def render_panel(context, panel):
    """A hooks.Panel: its own template with its own context (and the request)."""
    return render_to_string(panel.template, panel.context, request=context.get("request"))

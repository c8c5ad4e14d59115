"""The styled "This link isn't available" page for public links that lead nowhere.

Public views render it themselves instead of raising Http404, because with DEBUG on (the demo)
Django answers an Http404 with its technical page, which an invitee should never see.
"""

import functools

from django.http import Http404
from django.shortcuts import render

TEMPLATE = "unavailable.html"


def unavailable_response(request, *, exception=None):
    return render(request, TEMPLATE, status=404)


def shows_unavailable_page(view):
    """Wrap a public view: an Http404 it raises becomes the styled page, in any DEBUG mode."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return unavailable_response(request)

    return wrapper

from django import template
from django.urls import Resolver404, resolve

register = template.Library()


@register.simple_tag
def path_exists(path: str) -> bool:
    """Whether a page is served at `path`, so the nav links only to apps that are there."""
    try:
        resolve(path)
    except Resolver404:
        return False
    return True

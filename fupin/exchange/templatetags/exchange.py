from django import template

from fupin.core.idviews import shown_in_text

register = template.Library()


@register.filter
def masktext(value, user) -> str:
    """Text with every ID-like number masked unless the user may see full ID numbers."""
    return shown_in_text(value, user)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)

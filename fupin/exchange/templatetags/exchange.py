from django import template

from fupin.exchange.selectors import mask_text

register = template.Library()


@register.filter
def masktext(value, user) -> str:
    """Text with every ID-like number masked unless the user may see full ID numbers."""
    return mask_text(value, user)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)

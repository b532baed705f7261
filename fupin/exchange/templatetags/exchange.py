from django import template
from django.utils.translation import pgettext_lazy

from fupin.core.idviews import shown_in_text

register = template.Library()


@register.filter
def masktext(value, user) -> str:
    """Text with every ID-like number masked unless the user may see full ID numbers."""
    return shown_in_text(value, user)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


FIELD_ROLES = {
    "id": pgettext_lazy("field role", "ID number"),
    "disability_card": pgettext_lazy("field role", "disability card number"),
    "name": pgettext_lazy("field role", "person's name"),
    "birth_date": pgettext_lazy("field role", "date of birth"),
    "sex": pgettext_lazy("field role", "sex"),
    "address": pgettext_lazy("field role", "address"),
    "date": pgettext_lazy("field role", "date"),
    "number": pgettext_lazy("field role", "number"),
    "text": pgettext_lazy("field role", "text"),
}


@register.filter
def field_role(role: str) -> str:
    """What a source field is used for ("birth_date" → 出生日期), by its label; an unknown role shown as it stands."""
    return FIELD_ROLES.get(role, role)

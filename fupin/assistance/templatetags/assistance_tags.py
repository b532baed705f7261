"""Template tags of the assistance pages."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext

register = template.Library()


@register.simple_tag
def light_badge(light) -> str:
    """A household's light, as assistance/_light.html renders it, for the rows of a list: one call instead of an
    include with two plural translations per row (the lights list renders 50)."""
    if not light:
        return format_html('<span class="light light-none" data-light="none">{}</span>', gettext("not tracked"))
    if light.days is None:
        return format_html('<span class="light light-{}" data-light="{}" title="">{}</span>', light.colour,
                           light.colour, light.get_colour_display())
    days = {"days": light.days}
    return format_html('<span class="light light-{}" data-light="{}" title="{}">{} · {}</span>', light.colour,
                       light.colour,
                       ngettext("%(days)s day since the last assistance", "%(days)s days since the last assistance",
                                light.days) % days,
                       light.get_colour_display(), ngettext("%(days)s day", "%(days)s days", light.days) % days)

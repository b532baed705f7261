"""Template helpers of the dispatch pages: `{% load dispatch_tags %}`."""

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """mapping[key], or "" (for dicts passed to templates, e.g. state → badge tone)."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def stars(score) -> str:
    """A satisfaction score 1-5 as stars."""
    try:
        n = max(0, min(5, int(score)))
    except (TypeError, ValueError):
        return ""
    return "★" * n + "☆" * (5 - n)


@register.filter
def percent_of(value, total) -> int:
    try:
        return round(100 * float(value) / float(total)) if float(total) else 0
    except (TypeError, ValueError):
        return 0


@register.filter
def code_label(code, key: str) -> str:
    """The label of a registry code (`{{ household.main_cause|code_label:"cause" }}` → 因病)."""
    if code in (None, ""):
        return ""
    from fupin.registry.labels import code_tables

    return code_tables().shown(key, code) or str(code)

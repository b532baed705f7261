"""The household page's panels and the household list's ordering, filled by other capabilities through the extension
points `registry.household_panel` (`extensions.HouseholdPanel`) and `registry.list_ordering`
(`extensions.HouseholdOrdering`); the list's filters are `registry.list_filter` (`fupin.registry.selectors`).

A panel is one calling convention, fn(request, household) -> dict | None (None: no panel), registered from the app's
`hooks.py`::

    ext.register(ext.HouseholdPanel(key="lifecycle", template="lifecycle/_household_panel.html",
                                    fn=panel_context, order=30))

With a template the dict is its context ("panel_title" titles the panel; the template also sees `request`, `user`
and `household`); without one it is {"title", "rows": [(label, value), ...], "url"}, shown as a two-column table.
Panels must scope their reads (`.restrict(request.user)`): the page only guarantees that the household itself is
visible to the user. A panel that raises fails the page: a broken extension must show, not vanish.
"""

from __future__ import annotations

import inspect

from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from fupin.core import extensions


def order_list(qs):
    for ordering in extensions.registered("registry.list_ordering"):
        qs = ordering.fn(qs)
    return qs


def panels() -> list[extensions.HouseholdPanel]:
    return extensions.registered("registry.household_panel")


def _rows_html(result: dict) -> str:
    rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((k, v) for k, v in result.get("rows") or []))
    link = format_html('<p><a href="{}">{}</a></p>', result["url"], _("Details")) if result.get("url") else ""
    return format_html('<table class="kv">{}</table>{}', rows, link)


def render_panels(request, household) -> list[dict]:
    """Every registered panel for this household: [{"key", "title", "html", "order"}], in order."""
    out = []
    for p in panels():
        ctx = p.fn(request, household)
        if not ctx:
            continue
        if p.template:
            html = render_to_string(p.template, {"household": household, **ctx}, request=request)
            title = ctx.get("panel_title", "")
        else:
            html, title = _rows_html(ctx), ctx.get("title", "")
        out.append({"key": p.key, "title": title, "html": html, "order": p.order})
    return out


# Compatibility for registrations written before the extension registry; tests/test_extensions.py lists callers.
def register_panel(template, context_fn=None, order: int = 100) -> None:
    """Deprecated: `extensions.register(extensions.HouseholdPanel(key=..., template=template, fn=context_fn))`.

    Takes the two old forms still expressible: (template, context_fn(request, household)) and fn(household, user)
    returning rows."""
    if isinstance(template, str):
        key = template.split("/")[0] if "/" in template else template
        extensions.register(extensions.HouseholdPanel(key=key, template=template, fn=context_fn, order=order))
        return
    fn = template
    params = list(inspect.signature(fn).parameters)
    if not params or params[0] != "household":
        raise extensions.ExtensionError(f"register_panel({fn!r}): register an extensions.HouseholdPanel instead")
    extensions.register(extensions.HouseholdPanel(key=f"{fn.__module__}.{fn.__qualname__}", order=order,
                                                  fn=lambda request, household: fn(household, request.user)))


register_household_panel = register_panel


def register_list_ordering(fn) -> None:
    """Deprecated: `extensions.register(extensions.HouseholdOrdering(fn=fn))`."""
    extensions.register(extensions.HouseholdOrdering(fn=fn))

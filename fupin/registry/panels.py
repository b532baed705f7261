"""Extension points of the household page and list, for other capabilities (procedures, pairing, assistance, work
orders, department comparison ...). Register from your app's `hooks.py`; every hook is optional.

Household page panels, three ways (all rendered in `order`, lowest first; a panel that returns None is left out):

- a template and a context function::

      register_panel("lifecycle/_household_panel.html", panel_context, order=30)
      # panel_context(request, household) -> dict | None

- a function returning a rendered panel: fn(request, household) -> {"key", "title", "html", "order"} | None::

      register_panel(findings_panel)

- a function returning rows (fn(household, user) -> {"title", "rows": [(label, value), ...], "url"} | None); a
  function whose first parameter is named `household` is called this way::

      register_household_panel(household_panel)

The panel's template sees `request`, `user` and `household` besides its own context. Panels must scope their reads
(`.restrict(request.user)`): the page only guarantees that the household itself is visible to the user.

Household list:

- `register_list_ordering(fn)`: fn(queryset) -> queryset, e.g. pinned households first (the last registered wins);
- filters: `fupin.registry.selectors.register_filter(key, label, choices, apply)` adds `?key=value` to the list and
  the API.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Panel:
    key: str
    order: int
    template: str | None
    fn: Callable
    household_first: bool = False


_PANELS: list[Panel] = []
_ORDERINGS: list[Callable] = []


def _key_of(fn: Callable, template: str | None) -> str:
    return template or f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"


def register_panel(fn_or_template: Callable | str, context_fn: Callable | None = None, order: int = 100) -> None:
    """Add a panel to the household page (see the module docstring for the three forms). Registering the same
    template or function twice keeps one panel."""
    if isinstance(fn_or_template, str):
        if context_fn is None:
            raise TypeError("register_panel(template_name, context_fn, order): context_fn is required")
        panel = Panel(key=fn_or_template, order=order, template=fn_or_template, fn=context_fn)
    else:
        params = list(inspect.signature(fn_or_template).parameters)
        panel = Panel(key=_key_of(fn_or_template, None), order=order, template=None, fn=fn_or_template,
                      household_first=bool(params) and params[0] == "household")
    _PANELS[:] = [p for p in _PANELS if p.key != panel.key]
    _PANELS.append(panel)
    _PANELS.sort(key=lambda p: p.order)


register_household_panel = register_panel


def register_list_ordering(fn: Callable) -> None:
    """fn(households queryset) -> queryset ordered (e.g. pinned first); keep the existing ordering after yours."""
    if fn not in _ORDERINGS:
        _ORDERINGS.append(fn)


def order_list(qs):
    for fn in _ORDERINGS:
        qs = fn(qs)
    return qs


def panels() -> list[Panel]:
    return list(_PANELS)


def _rows_html(result: dict) -> str:
    rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((k, v) for k, v in result.get("rows") or []))
    link = format_html('<p><a href="{}">{}</a></p>', result["url"], "查看详情") if result.get("url") else ""
    return format_html('<table class="kv">{}</table>{}', rows, link)


def render_panels(request, household) -> list[dict]:
    """Every registered panel for this household: [{"key", "title", "html", "order"}], in order.

    A panel that fails is logged and left out: another capability's bug must not take the household page down.
    """
    out = []
    for p in _PANELS:
        try:
            if p.template:
                ctx = p.fn(request, household)
                if ctx is None:
                    continue
                html = render_to_string(p.template, {"household": household, **ctx}, request=request)
                out.append({"key": p.key, "title": ctx.get("panel_title", ""), "html": html, "order": p.order})
                continue
            result = p.fn(household, request.user) if p.household_first else p.fn(request, household)
            if not result:
                continue
            html = result.get("html")
            if html is None:
                html = _rows_html(result)
            out.append({"key": result.get("key", p.key), "title": result.get("title", ""), "html": html,
                        "order": result.get("order", p.order)})
        except Exception:
            log.exception("household panel %s failed", p.key)
    out.sort(key=lambda r: r["order"])
    return out

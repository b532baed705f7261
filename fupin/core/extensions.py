"""The one extension registry: every place where a capability adds to another is a named point declared here, with
the one shape a registration must have.

An app registers from its `hooks.py` (imported by `FupinAppConfig.ready`), and nowhere else::

    from fupin.core import extensions as ext

    ext.register(ext.PopupSection(fn=map_popup, order=40))
    ext.register(ext.HouseholdPanel(key="funds", template="funds/_panel.html", fn=panel_context, order=55))

The point is the shape's `point`; the consumer reads `ext.registered("maps.popup_section")` (sorted by `order`,
then key). A registration that is not one of the shapes below (an unknown point), a shape whose callables are not
callable or whose key is empty, and a second, different registration under the same key all raise
`ExtensionError` at once, so a broken extension stops the start (and the tests) instead of vanishing from a page;
the system check `fupin.E010`-`E013` then verifies what needs every app loaded (templates exist, an indicator's
figure and a figure's section are registered). Consumers do not catch their extensions' exceptions.

Points are declared once, here, so that a capability never imports the app it extends (the layering,
docs/architecture.md) and docs/architecture.md's table lists them all. `tests/test_extensions.py` fails when a
point has no registration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, NamedTuple

from django.core.exceptions import ImproperlyConfigured


class ExtensionError(ImproperlyConfigured):
    """A registration to an unknown extension point, of the wrong shape, or clashing with another."""


@dataclass(frozen=True)
class Extension:
    """Base of every registration shape: `point` names the extension point, `key` keeps registrations apart."""

    point: ClassVar[str] = ""
    doc: ClassVar[str] = ""

    @property
    def ident(self) -> str:
        """What keeps registrations of one point apart: the key, name, kind or prefix field, else the function."""
        for name in ("key", "name", "kind", "prefix"):
            if name in self.__dataclass_fields__:
                return str(getattr(self, name))
        fn = getattr(self, "fn", None)
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"

    @property
    def sort_key(self) -> tuple:
        return (getattr(self, "order", 100), self.ident)

    def callables(self) -> dict[str, Callable]:
        """The registration's callables by field name (the extensions test resolves each)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if str(f.type).startswith("Callable") and getattr(self, f.name) is not None}

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            kind = str(f.type)
            if kind.startswith("Callable") and not (value is None and "None" in kind) and not callable(value):
                raise ExtensionError(f"{type(self).__name__}.{f.name} must be callable, not {value!r}")
            if f.name in ("key", "name", "kind", "prefix") and (not isinstance(value, str) or not value):
                raise ExtensionError(f"{type(self).__name__}.{f.name} must be a non-empty string, not {value!r}")
            if f.name == "order" and not isinstance(value, int):
                raise ExtensionError(f"{type(self).__name__}.order must be an integer, not {value!r}")


# Core: commands, jobs, the API's request guard and the audit trail --------------------------------------------------


@dataclass(frozen=True)
class StatsKeys(Extension):
    point: ClassVar[str] = "core.stats"
    doc: ClassVar[str] = "keys of `fupin stats --json`: fn() -> dict (a later order overrides a key)"
    fn: Callable[[], dict]
    order: int = 100


@dataclass(frozen=True)
class NightlyStep(Extension):
    point: ClassVar[str] = "core.nightly"
    doc: ClassVar[str] = ("work that depends on the passage of time (`fupin nightly`): fn() -> dict; on_change also "
                          "after relevant writes")
    name: str
    fn: Callable[..., dict | None]
    order: int = 100
    on_change: bool = False


@dataclass(frozen=True)
class JobHandler(Extension):
    point: ClassVar[str] = "core.job"
    doc: ClassVar[str] = "a background job kind: fn(job, progress) -> result dict"
    kind: str
    fn: Callable[..., dict | None]


@dataclass(frozen=True)
class RawBodyPrefix(Extension):
    point: ClassVar[str] = "core.raw_body"
    doc: ClassVar[str] = "API paths under `prefix` that take a raw file body (image, octet-stream)"
    prefix: str


@dataclass(frozen=True)
class ChangeListener(Extension):
    point: ClassVar[str] = "core.change_listener"
    doc: ClassVar[str] = "fn(changes) inside the writing transaction of every audited or announced change"
    fn: Callable[[list], None]
    order: int = 100


# Registry: the household page and list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdPanel(Extension):
    """A panel of the household page: fn(request, household) -> dict | None (None: no panel).

    With a `template`, the dict is its context (its "panel_title" titles the panel; the template also sees
    `request`, `user` and `household`); without one, the dict is {"title", "rows": [(label, value)], "url"}, shown
    as a two-column table. Panels scope their own reads (`.restrict(request.user)`)."""

    point: ClassVar[str] = "registry.household_panel"
    doc: ClassVar[str] = "a panel of the household page: fn(request, household) -> dict | None, with or without template"
    key: str
    fn: Callable[[Any, Any], dict | None]
    template: str | None = None
    order: int = 100


@dataclass(frozen=True)
class HouseholdOrdering(Extension):
    point: ClassVar[str] = "registry.list_ordering"
    doc: ClassVar[str] = "the household list's ordering: fn(queryset) -> queryset (keep the existing order after yours)"
    fn: Callable[[Any], Any]
    order: int = 100


@dataclass(frozen=True)
class HouseholdFilter(Extension):
    point: ClassVar[str] = "registry.list_filter"
    doc: ClassVar[str] = ("`?key=value` on the household list and API: choices(user) -> [(value, label)], "
                          "apply(qs, value, user) -> qs")
    key: str
    label: Any
    choices: Callable[[Any], list[tuple[str, str]]]
    apply: Callable[[Any, str, Any], Any]
    order: int = 100


# Maps ------------------------------------------------------------------------------------------------------------

Choice = tuple[str, str, str]  # (code, label, colour)


@dataclass(frozen=True)
class HouseholdAttribute(Extension):
    """A code of each poor household the map can filter by, colour by, or make stand out.

    - `choices()`: (code, label, colour) in legend order; households whose code is not listed are drawn grey;
    - `expression()`: the code as a database expression on Household (F("field") or a Subquery);
    - `filter(qs, codes)`: optional, a faster way to narrow households to these codes than the expression;
    - `color`: offered as a colouring of the points; `filterable`: offered as a filter;
    - `highlight`: the code whose households stand out on the map (drawn larger with a ring, e.g. pinned "1").
    """

    point: ClassVar[str] = "maps.household_attribute"
    doc: ClassVar[str] = "a household code the map filters (`?key=`), colours by and highlights"
    key: str
    label: Any
    choices: Callable[[], list[Choice]]
    expression: Callable[[], Any]
    filter: Callable[[Any, list[str]], Any] | None = None
    color: bool = True
    filterable: bool = True
    highlight: str | None = None
    order: int = 100

    def narrow(self, qs, codes: list[str]):
        if self.filter is not None:
            return self.filter(qs, codes)
        name = f"_attr_{self.key}"
        return qs.annotate(**{name: self.expression()}).filter(**{f"{name}__in": codes})


@dataclass(frozen=True)
class Indicator(Extension):
    """A choropleth of towns or villages: one dashboard figure (or one code of its breakdown) per area."""

    point: ClassVar[str] = "maps.indicator"
    doc: ClassVar[str] = "a choropleth of towns or villages reading a dashboard figure"
    key: str
    label: Any
    figure: str
    dim: str | None = None
    unit: Any = ""
    decimals: int = 0
    higher_is_worse: bool = True
    order: int = 100


@dataclass(frozen=True)
class PopupSection(Extension):
    point: ClassVar[str] = "maps.popup_section"
    doc: ClassVar[str] = "a section of the map's household popup: fn(household, user) -> {title, rows, url} | None"
    fn: Callable[[Any, Any], dict | None]
    order: int = 100


# Dashboards ------------------------------------------------------------------------------------------------------

CHARTS = ("kpi", "bar", "hbar", "pie", "line", "table", "none")


class Row(NamedTuple):
    """One leaf value a provider yields: `value` of figure `key` (under `dim`, if broken down) in area `code`."""

    code: str
    key: str
    value: float
    dim: str | None = None


@dataclass(frozen=True)
class Figure:
    """How a figure is shown: its label, section, chart, unit, breakdown labels and the households behind it.

    - `chart`: kpi (a number card), bar, hbar (horizontal bars), pie, line, table, or none (kept for the map or
      other figures, not drawn);
    - `dims()`: the breakdown's codes in display order as (code, label, colour); codes found in the data but not
      listed are shown after them as they stand. None: the codes sorted, as labels;
    - `link(area_code, dim)`: the URL of the households behind the figure (dim None: the whole figure);
    - `column`: also a column of the drill-down table of the area's towns / villages / grids;
    - `higher_is_worse`: colours of the map choropleth and of the drill-down table's bars run towards red;
    - `pair`: the key of a figure with the same breakdown shown as a second column of this one's table (the poor
      persons next to the poor households);
    - `zeros`: show every code `dims()` lists, even at zero (a pipeline's steps); otherwise only codes with a value.
    """

    key: str
    label: Any
    section: str = "registry"
    chart: str = "kpi"
    unit: Any = ""
    dims: Callable[[], list[tuple[str, str, str]]] | None = None
    link: Callable[[str, str | None], str | None] | None = None
    column: bool = False
    order: int = 100
    decimals: int = 0
    help: Any = ""
    higher_is_worse: bool = True
    pair: str | None = None
    zeros: bool = False

    def __post_init__(self) -> None:
        if self.chart not in CHARTS:
            raise ExtensionError(f"unknown chart {self.chart!r} for figure {self.key}")
        for name in ("dims", "link"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise ExtensionError(f"Figure {self.key}: {name} must be callable")


@dataclass(frozen=True)
class FigureProvider(Extension):
    """compute(ctx) yields `Row`s by the smallest area (a household's area_code); the refresh sums them upwards.
    `watches`: audit-action prefixes that mark the figures stale."""

    point: ClassVar[str] = "dashboards.figure_provider"
    doc: ClassVar[str] = "figures computed in the background: compute(ctx) yields Row(code, key, value, dim)"
    name: str
    compute: Callable[[Any], Iterable[Row]]
    figures: tuple[Figure, ...]
    watches: tuple[str, ...] = ()
    order: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "figures", tuple(self.figures))
        object.__setattr__(self, "watches", tuple(self.watches))
        super().__post_init__()
        if not all(isinstance(f, Figure) for f in self.figures):
            raise ExtensionError(f"FigureProvider {self.name}: figures must be Figure objects")


@dataclass(frozen=True)
class DerivedFigure(Extension):
    point: ClassVar[str] = "dashboards.derived_figure"
    doc: ClassVar[str] = "a figure computed per area from the summed ones: fn(get) -> number | None (a ratio)"
    figure: Figure
    fn: Callable[[Callable[..., float | None]], float | None]

    @property
    def ident(self) -> str:
        return self.figure.key

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.figure, Figure):
            raise ExtensionError(f"DerivedFigure: figure must be a Figure, not {self.figure!r}")


@dataclass(frozen=True)
class DashboardSection(Extension):
    point: ClassVar[str] = "dashboards.section"
    doc: ClassVar[str] = "a section of the dashboard page, named by figures"
    key: str
    title: Any
    order: int = 100


# Assistance: the tracking lights ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LightCondition(Extension):
    """fn(household_ids | None, today) -> {household_id: [reason]}, each reason a dict with "code" and "colour"
    (green/yellow/red) and the numbers its text needs; `describe[code](reason)` -> (what is wrong, what clears it)."""

    point: ClassVar[str] = "assistance.light_condition"
    doc: ClassVar[str] = ("a reason on a household's tracking light: fn(ids, today) -> {id: [reason]}, with the "
                          "describers of its codes")
    fn: Callable[[list[int] | None, dt.date], dict[int, list[dict]]]
    describe: dict[str, Callable[[dict], tuple[str, str]]] = field(default_factory=dict)
    order: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.describe or not all(callable(f) for f in self.describe.values()):
            raise ExtensionError("LightCondition.describe: {code: fn(reason) -> (text, action)} for every code")

    def callables(self) -> dict[str, Callable]:
        return {"fn": self.fn, **{f"describe[{code}]": f for code, f in self.describe.items()}}


@dataclass(frozen=True)
class UnverifiedFindings(Extension):
    point: ClassVar[str] = "assistance.unverified_findings"
    doc: ClassVar[str] = ("comparison findings awaiting a visit, on the lights: fn(ids | None) -> {household_id: "
                          "date of the oldest}")
    fn: Callable[[list[int] | None], dict[int, dt.date | dt.datetime]]
    order: int = 100


# Lifecycle: the procedures and the household card (明白卡) --------------------------------------------------------


@dataclass(frozen=True)
class CardSection(Extension):
    point: ClassVar[str] = "lifecycle.card_section"
    doc: ClassVar[str] = "a section of the household card (明白卡): fn(household) -> {key, title, rows} | None"
    fn: Callable[[Any], dict | None]
    order: int = 100


@dataclass(frozen=True)
class ProcedureAssessment(Extension):
    point: ClassVar[str] = "lifecycle.assessment"
    doc: ClassVar[str] = ("the household's scores at a procedure's visit step: fn(household) -> {label, score, "
                          "items, url} | None")
    fn: Callable[[Any], dict | None]
    order: int = 100


@dataclass(frozen=True)
class ProcedureFindings(Extension):
    point: ClassVar[str] = "lifecycle.findings"
    doc: ClassVar[str] = ("department findings at a procedure's comparison step: fn(household) -> [{source, label, "
                          "detail}] | None")
    fn: Callable[[Any], list[dict] | None]
    order: int = 100


# Dispatch and the exchange: what other apps teach them ----------------------------------------------------------


@dataclass(frozen=True)
class NeedAdapter(Extension):
    point: ClassVar[str] = "dispatch.need_adapter"
    doc: ClassVar[str] = ("a source of needs (\"app_label.model\") work orders are made from: fn(source) -> keywords of "
                          "work_order_create (household, title, description, origin, ...)")
    key: str
    fn: Callable[[Any], dict]


@dataclass(frozen=True)
class FieldReader(Extension):
    point: ClassVar[str] = "exchange.field_reader"
    doc: ClassVar[str] = "who reads which fields of a department source: fn(source_code) -> {field: [reader names]}"
    fn: Callable[[str], dict]


# Assessment: return-to-poverty risk signals and the 应享未享 rules' household facts --------------------------------


@dataclass(frozen=True)
class RiskSignal(Extension):
    """fn(today) -> [Signal] (fupin.assessment.services.Signal): the households one risk shows in. A provider whose
    rule changed declares the `signal` its alerts carry and the rule's `version` (> 1): the next scan closes the open
    alerts an earlier version raised that this one no longer raises."""

    point: ClassVar[str] = "assessment.risk_signal"
    doc: ClassVar[str] = ("a source of return-to-poverty risk signals: fn(today) -> [Signal], with the signal and "
                          "version of its rule")
    key: str
    fn: Callable[[dt.date], list]
    signal: str = ""
    version: int = 1
    order: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.version, int) or self.version < 1:
            raise ExtensionError(f"RiskSignal {self.key}: version must be a whole number from 1, not {self.version!r}")


@dataclass(frozen=True)
class HouseholdFact(Extension):
    """A household fact the 应享未享 rules may name: fn() -> (SQL selecting `household_id, value`, params); `value`
    a number, households absent from it read 0."""

    point: ClassVar[str] = "assessment.household_fact"
    doc: ClassVar[str] = ("a household fact of the 应享未享 rules: fn() -> (SQL of household_id, value; params), "
                          "with its type and label")
    key: str
    kind: str
    label: Any
    fn: Callable[[], tuple[str, list]]

    @property
    def ident(self) -> str:
        return self.key

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind != "number":  # the screening reads every added fact as a number (absent: 0)
            raise ExtensionError(f"HouseholdFact {self.key}: kind must be 'number', not {self.kind!r}")


# Interop: the event types other systems subscribe to ------------------------------------------------------------


@dataclass(frozen=True)
class EventType(Extension):
    """An event type other systems may subscribe to: its `code` (in payloads), its label (on pages) and the audited
    changes it is made of (`actions`, or action `prefixes`, narrowed by `when(change)`); `subject(change)` names the
    object the event is about when it is not the audited one (a member's change is about its household)."""

    point: ClassVar[str] = "interop.event_type"
    doc: ClassVar[str] = ("an event type of the webhooks: code, label, the audit actions (or prefixes) it is made of, "
                          "optionally when(change) and subject(change)")
    code: str
    label: Any
    actions: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    when: Callable[[Any], bool] | None = None
    subject: Callable[[Any], tuple[str, str]] | None = None
    order: int = 100

    @property
    def ident(self) -> str:
        return self.code

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", frozenset(self.actions))
        object.__setattr__(self, "prefixes", tuple(self.prefixes))
        super().__post_init__()
        if not isinstance(self.code, str) or not self.code:
            raise ExtensionError(f"EventType.code must be a non-empty string, not {self.code!r}")
        if not self.actions and not self.prefixes:
            raise ExtensionError(f"EventType {self.code}: name the audit actions or prefixes it is made of")

    def matches(self, change) -> bool:
        return (change.action in self.actions or change.action.startswith(self.prefixes or ("\0",))) and (
            self.when is None or self.when(change))


# Geo: the grid network's pages count and assign households (the registry, one tier up, answers) -------------------


@dataclass(frozen=True)
class AreaHouseholds(Extension):
    """The households of divisions and grids, for the grid network's pages (which may not import the registry):
    by_village(viewer, village_ids | None, prefix) -> {village id: {households, poor, unassigned}};
    by_grid(viewer, grid_ids) -> {grid id: {households, poor}}; assign(actor=, village=, by=, grid=,
    household_ids=) -> {assigned, unassigned_left} (a village's unassigned households to grids, audited)."""

    point: ClassVar[str] = "geo.area_households"
    doc: ClassVar[str] = ("the households of villages and grids for the grid pages: by_village, by_grid (counts) "
                          "and assign (households to grids, by location or by hand)")
    key: str
    by_village: Callable[..., dict]
    by_grid: Callable[..., dict]
    assign: Callable[..., dict]


# The registry itself ---------------------------------------------------------------------------------------------

SHAPES: tuple[type[Extension], ...] = (
    StatsKeys, NightlyStep, JobHandler, RawBodyPrefix, ChangeListener,
    HouseholdPanel, HouseholdOrdering, HouseholdFilter,
    HouseholdAttribute, Indicator, PopupSection,
    FigureProvider, DerivedFigure, DashboardSection,
    LightCondition, UnverifiedFindings,
    CardSection, ProcedureAssessment, ProcedureFindings,
    NeedAdapter, FieldReader, AreaHouseholds,
    RiskSignal, HouseholdFact, EventType,
)
POINTS: dict[str, type[Extension]] = {}
for _shape in SHAPES:
    if _shape.point in POINTS:
        raise ExtensionError(f"extension point {_shape.point} declared twice")
    POINTS[_shape.point] = _shape

_REGISTERED: dict[str, dict[str, Extension]] = {name: {} for name in POINTS}
_BY: dict[tuple[str, str], str] = {}  # (point, key) -> the module that registered it


def register(item: Extension, *, by: str | None = None) -> Extension:
    """Add `item` to its point. Registering an equal item again is a no-op; anything else raises ExtensionError."""
    shape = type(item)
    if not isinstance(item, Extension) or POINTS.get(shape.point) is not shape:
        raise ExtensionError(f"{item!r} is not a registration of a declared extension point "
                             f"(one of {', '.join(sorted(POINTS))})")
    items = _REGISTERED[shape.point]
    old = items.get(item.ident)
    if old is not None and old != item:
        raise ExtensionError(f"{shape.point}: {item.ident!r} is registered twice ({_BY.get((shape.point, item.ident))} "
                             f"and {by or _module_of(item)})")
    items[item.ident] = item
    _BY[(shape.point, item.ident)] = by or _module_of(item)
    return item


def _module_of(item: Extension) -> str:
    """The app's hooks module whose import registers `item` (else the first caller outside this module)."""
    import sys

    frame, first = sys._getframe(1), ""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.endswith(".hooks"):
            return module
        if module not in _REGISTERING_MODULES:
            first = first or module
        frame = frame.f_back
    return first


# this module and the decorator / compatibility forms of `register`: never the registrant
_REGISTERING_MODULES = {__name__, "fupin.core.services", "fupin.core.stats", "fupin.core.nightly", "fupin.core.audit",
                        "fupin.core.middleware", "fupin.registry.panels", "fupin.registry.selectors",
                        "fupin.maps.layers", "fupin.dashboards.figures", "fupin.assistance.providers",
                        "fupin.assessment.services", "fupin.assessment.screening"}


def registered(point: str) -> list:
    """The registrations of `point`, by order then key."""
    if point not in POINTS:
        raise ExtensionError(f"unknown extension point {point!r}")
    return sorted(_REGISTERED[point].values(), key=lambda i: i.sort_key)


def lookup(point: str, key: str):
    """The registration of `point` under `key`, or None."""
    if point not in POINTS:
        raise ExtensionError(f"unknown extension point {point!r}")
    return _REGISTERED[point].get(key)


def registered_by(point: str, key: str) -> str:
    return _BY.get((point, key), "")


def unregister(item: Extension) -> None:
    _REGISTERED[type(item).point].pop(item.ident, None)
    _BY.pop((type(item).point, item.ident), None)


@contextmanager
def added(*items: Extension) -> Iterator[None]:
    """For tests: `items` registered within the block only."""
    done = []
    try:
        for item in items:
            if lookup(type(item).point, item.ident) is None:
                register(item, by="test")
                done.append(item)
        yield
    finally:
        for item in done:
            unregister(item)


@contextmanager
def replaced(point: str, *items: Extension) -> Iterator[None]:
    """For tests: the point holds exactly `items` within the block."""
    saved, saved_by = dict(_REGISTERED[point]), {k: v for k, v in _BY.items() if k[0] == point}
    _REGISTERED[point].clear()
    try:
        for item in items:
            register(item, by="test")
        yield
    finally:
        _REGISTERED[point].clear()
        _REGISTERED[point].update(saved)
        _BY.update(saved_by)


def check(app_configs=None, **_kw) -> list:
    """The system check of what needs every app loaded: panel templates exist, each indicator's figure and each
    figure's section are registered, no figure key is registered twice."""
    from django.core import checks
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    errors = []
    for panel in registered("registry.household_panel"):
        if panel.template:
            try:
                get_template(panel.template)
            except TemplateDoesNotExist:
                errors.append(checks.Error(f"household panel {panel.key}: template {panel.template} does not exist",
                                           id="fupin.E010"))
    figures: dict[str, str] = {}
    for provider in registered("dashboards.figure_provider"):
        for f in provider.figures:
            if f.key in figures:
                errors.append(checks.Error(f"figure {f.key} registered by {figures[f.key]} and {provider.name}",
                                           id="fupin.E013"))
            figures[f.key] = provider.name
    for derived in registered("dashboards.derived_figure"):
        if derived.figure.key in figures:
            errors.append(checks.Error(f"figure {derived.figure.key} registered twice", id="fupin.E013"))
        figures[derived.figure.key] = "derived"
    for ind in registered("maps.indicator"):
        if ind.figure not in figures:
            errors.append(checks.Error(f"map indicator {ind.key}: no dashboard figure {ind.figure} is registered",
                                       id="fupin.E011"))
    sections = {s.key for s in registered("dashboards.section")}
    all_figures = [f for p in registered("dashboards.figure_provider") for f in p.figures]
    for f in all_figures + [d.figure for d in registered("dashboards.derived_figure")]:
        if f.section not in sections:
            errors.append(checks.Error(f"figure {f.key}: no dashboard section {f.section} is registered",
                                       id="fupin.E012"))
    return errors

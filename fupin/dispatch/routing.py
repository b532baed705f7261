"""The routing engine: which department a need goes to. A pure function over rules and facts (no database inside).

    >>> rules = [Rule(id=1, priority=10, department="weiji", cause="1"), Rule(id=2, priority=1000, department="fupinban")]
    >>> route(rules, Facts(cause="1")).department
    'weiji'
    >>> route(rules, Facts(cause="3")).department
    'fupinban'

A rule matches when every criterion it fills equals the fact (the area criterion is a code prefix); the matching
rule with the lowest (priority, id) wins, so a rule with no criteria at the largest priority is the default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Facts:
    """What is known about a need when it is routed."""

    order_type: str = ""  # work order type code
    cause: str = ""  # the household's main poverty cause (code)
    measure_kind: str = ""  # the plan measure's kind, when the need is a measure
    category: str = ""  # the 民情 category, when the need is a public-opinion report
    area_code: str = ""  # the household's grid or village code


@dataclass(frozen=True)
class Rule:
    """A routing rule as the engine sees it; `department` is whatever the caller uses to name one (code or pk)."""

    id: int
    priority: int
    department: object
    order_type: str = ""
    cause: str = ""
    measure_kind: str = ""
    category: str = ""
    area_prefix: str = ""
    name: str = ""

    @property
    def criteria(self) -> int:
        return sum(bool(v) for v in (self.order_type, self.cause, self.measure_kind, self.category, self.area_prefix))


def matches(rule: Rule, facts: Facts) -> bool:
    if rule.order_type and rule.order_type != facts.order_type:
        return False
    if rule.cause and rule.cause != facts.cause:
        return False
    if rule.measure_kind and rule.measure_kind != facts.measure_kind:
        return False
    if rule.category and rule.category != facts.category:
        return False
    return not (rule.area_prefix and not facts.area_code.startswith(rule.area_prefix))


def route(rules: Iterable[Rule], facts: Facts) -> Rule | None:
    """The winning rule for these facts, or None when no rule matches (and there is no default)."""
    for rule in sorted(rules, key=lambda r: (r.priority, r.id)):
        if matches(rule, facts):
            return rule
    return None


def explain(rule: Rule | None) -> str:
    """A short Chinese line saying why the need went where it went (stored on the work order)."""
    if rule is None:
        return "手工指定承办部门"
    if not rule.criteria:
        return f"默认规则「{rule.name}」"
    return f"按规则「{rule.name}」(优先级{rule.priority})分派"


def type_from_words(text: str, words: Iterable[tuple[str, Iterable[str]]]) -> str:
    """The need type whose words occur most often in the need's text ("" when none does): a suggestion for the person
    recording the need, who chooses the type.

    >>> type_from_words("希望推荐就近务工", [("medical", ("看病",)), ("employment", ("务工", "就业"))])
    'employment'
    """
    best, best_n = "", 0
    for code, keys in words:
        n = sum(text.count(k) for k in keys)
        if n > best_n:
            best, best_n = code, n
    return best


def suggest_type(facts: dict, main_cause: str = "") -> str:
    """The need type to suggest for a need: its own kind (a measure's kind, a 民情 category), else what its words say
    (its title, the need itself, counts twice), else the household's main cause, else "other".

    >>> suggest_type({"title": "希望推荐就近务工", "description": ""}, main_cause="1")
    'employment'
    """
    from fupin.dispatch import defaults

    words = f"{facts.get('title', '')}\n{facts.get('title', '')}\n{facts.get('description', '')}"
    return (facts.get("order_type") or defaults.MEASURE_KIND_TYPE.get(facts.get("measure_kind", ""))
            or defaults.CATEGORY_TYPE.get(facts.get("category", ""))
            or type_from_words(words, defaults.NEED_WORDS)
            or defaults.CAUSE_TYPE.get(main_cause or "") or "other")

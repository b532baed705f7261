"""A household's score and parts made in one row of the rules' engine (`Program.scores_sql`): every scoring rule's
points under its code, in the rules' order, and the score their sum (a rule that gives none counting none); and a
full run over the same data gives the same assessments to the digest, so that it writes none of them again."""

import json

import pytest

from fupin.eligibility import services
from fupin.eligibility.models import Assessment, RuleKind
from fupin.eligibility.services import compare_run, ruleset_ensure_default

pytestmark = pytest.mark.django_db


def _scoring_codes() -> list[str]:
    rule_set = ruleset_ensure_default(actor="test")
    return [r.code for r in rule_set.rules.all() if r.is_active and r.kind == RuleKind.SCORING]


def test_a_household_s_parts_are_its_scoring_rules_points_in_order_and_its_score_their_sum(
        people, departments, monkeypatch):
    given = []  # the parts as the engine gives them (PostgreSQL's jsonb keeps its own key order)
    write = services._write_assessments
    monkeypatch.setattr(services, "_write_assessments", lambda run, table, previous: (
        given.extend(table.column("parts").to_pylist()), write(run, table, previous))[1])
    run = compare_run(actor="test")
    codes = _scoring_codes()
    assert len(codes) >= 2  # the default rule set scores with several rules (else there is no order to check)
    rows = list(Assessment.objects.filter(run=run))
    assert rows and len(rows) == run.stats["assessed"]
    scored = 0
    assert len(given) == len(rows) and all(list(json.loads(p)) == codes for p in given), given[:3]
    for a in rows:
        assert sorted(a.parts) == sorted(codes), a.parts
        total = 0.0
        for code in codes:  # left to right, as the engine adds them
            total += a.parts[code] or 0
        assert a.score == total
        scored += total > 0
    assert scored  # some household scores at all (a positive control of the sums above)


def test_a_full_run_over_the_same_data_writes_no_assessment_again(people, departments, monkeypatch):
    first = compare_run(actor="test")
    before = {a.household_id: (a.score, a.rank, a.rank_of, a.parts, a.priorities, a.run_id)
              for a in Assessment.objects.all()}
    assert first.stats["assessed"] == len(before) > 0
    # a new version of the fact programme: the next run is a full one (not incremental), over the same data
    monkeypatch.setattr(services, "PROGRAM_VERSION", services.PROGRAM_VERSION + 1)
    second = compare_run(actor="test")
    assert second.stats["incremental"] is None
    assert second.stats["assessments_digest"] == first.stats["assessments_digest"]
    assert second.stats["assessed"] == 0
    after = {a.household_id: (a.score, a.rank, a.rank_of, a.parts, a.priorities, a.run_id)
             for a in Assessment.objects.all()}
    assert after == before  # not written again: the first run's rows, the first run's id

"""Demo data of data quality: the first run of the checks over the demo county (`seed_demo` calls
`seed_quality` after the collection forms planted their problems), so that the village lists, the grid workers'
inboxes and the dashboard show them at once."""

from __future__ import annotations

import random


def seed_quality(*, rng: random.Random, scale: float, batch) -> dict:
    from fupin.quality.services import rules_load_default, run_checks

    rules = rules_load_default(actor="system")
    run = run_checks(trigger="seed")
    return {"Rule": rules, "Problem": run.open_total}

"""Canvas app ids that change on restore pass the checklist only once re-wiring re-pointed them."""

from __future__ import annotations

from dataclasses import replace

from seeder.components import TargetFacts, validate


def _status(facts: TargetFacts) -> str:
    return next(c.status for c in validate(facts).checks if c.name == "canvas-app-ids")


def test_changed_app_ids_warn_until_remapped() -> None:
    facts = TargetFacts(canvas_apps_expected=["Explorer"], canvas_apps_present={"Explorer": "new"},
                        canvas_app_ids_changed={"Explorer": ("old", "new")})
    assert _status(facts) == "warn"
    assert _status(replace(facts, canvas_app_ids_remapped=frozenset({"Explorer"}))) == "pass"
    assert _status(replace(facts, canvas_app_ids_remapped=frozenset({"Other"}))) == "warn"
    missing = replace(facts, canvas_apps_present={})
    assert _status(replace(missing, canvas_app_ids_remapped=frozenset({"Explorer"}))) == "fail"

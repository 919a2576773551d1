"""Plans as text (for people), JSON (``Plan.to_dict``), Graphviz dot and Mermaid (for drawings).

The text explains every deferral and every lookup leaving the selection in words. The drawings show
tables as nodes and lookups as edges from the referencing table to its target: deferred lookups
dashed, required ones bold, tables in a cycle grouped and outlined in red, tables outside the
selection dotted.
"""

from __future__ import annotations

import json
import re

from seeder.plan.steps import Deferral, Plan, Step

__all__ = ["render", "render_dot", "render_json", "render_mermaid", "render_text"]


def _and(items: list[str] | tuple[str, ...]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _step_line(number: int, step: Step) -> str:
    if step.action == "upsert":
        line = f"{number:>3}. upsert    {step.table}"
        if step.self_ordered:
            line += f"  (rows parent-first by {', '.join(step.self_ordered)})"
        return line
    if step.action == "link":
        cols = ", ".join(f"{lk.column} → {'/'.join(lk.targets)}" for lk in step.lookups)
        return f"{number:>3}. link      {step.table}: {cols}"
    if step.action == "associate":
        sides = " ↔ ".join(lk.targets[0] for lk in step.lookups)
        return f"{number:>3}. associate {step.relationship} ({sides})"
    return f"{number:>3}. set-state {step.table}"


def explain_deferral(d: Deferral, plan: Plan) -> str:
    """One sentence saying why ``d`` is deferred and what the restore does about it."""
    others = [t for t in d.cycle if t != d.table]
    if not d.cycle:
        why = "it can only be set on a row that already exists"
    elif len(d.cycle) == 2:
        why = f"{d.table} and {others[0]} reference each other"
    else:
        why = f"{_and(d.cycle)} reference each other in a cycle"
    link_no = next(
        (i for i, s in enumerate(plan.steps, 1) if s.action == "link" and s.table == d.table), 0
    )
    return (
        f"{d.table}.{d.column} → {', '.join(d.targets)} is deferred: {why}; "
        f"{d.table} rows are written first with it empty, then linked (step {link_no})."
    )


def render_text(plan: Plan) -> str:
    """The plan in words: steps, deferrals with reasons, self-ordered tables and outside lookups."""
    upserts = plan.steps_for("upsert")
    lines = [
        f"Restore plan: {len(upserts)} tables, {len(plan.steps)} steps, "
        f"{len(plan.deferred)} deferred lookups, {len(plan.cycles)} cycles",
        "",
        "Steps:",
    ]
    lines += [_step_line(i, s) for i, s in enumerate(plan.steps, 1)]
    if plan.cycles:
        lines += ["", "Cycles:"]
        lines += [f"  - {' ↔ '.join(c)}" for c in plan.cycles]
    if plan.deferred:
        lines += ["", "Deferred lookups:"]
        lines += [f"  - {explain_deferral(d, plan)}" for d in plan.deferred]
    ordered = [s for s in upserts if s.self_ordered]
    if ordered:
        lines += ["", "Self-references (no link step):"]
        for s in ordered:
            for col in s.self_ordered:
                lines.append(
                    f"  - {s.table}.{col} → {s.table}: rows are written parent-first; "
                    "rows in a loop of their own are written empty and linked afterwards"
                )
    if plan.outside:
        lines += ["", f"Outside the selection (policy: {plan.policy}):"]
        for o in plan.outside:
            what = (
                "matched in the target (the referenced rows must exist there)"
                if o.policy == "match"
                else "written empty"
            )
            note = f"; {o.note}" if o.note else ""
            lines.append(f"  - {o.table}.{o.column} → {', '.join(o.targets)}: {what}{note}")
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    """``Plan.to_dict`` as indented JSON with sorted keys."""
    return json.dumps(plan.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _edges(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(table, column, target, kind) with kind in required / nullable / deferred / outside."""
    out: list[tuple[str, str, str, str]] = []
    for step in plan.steps_for("upsert"):
        for lk in step.lookups:
            kind = "required" if lk.required else "nullable"
            out += [(step.table, lk.column, t, kind) for t in lk.targets]
    for d in plan.deferred:
        out += [(d.table, d.column, t, "deferred") for t in d.targets]
    for o in plan.outside:
        out += [(o.table, o.column, t, "outside") for t in o.targets]
    return sorted(out)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(plan: Plan) -> str:
    """Graphviz: one cluster per cycle (red), deferred lookups dashed, outside tables dotted."""
    lines = ["digraph plan {", "  rankdir=BT;", "  node [shape=box, fontname=Helvetica];"]
    in_cycle = {t for c in plan.cycles for t in c}
    for i, cycle in enumerate(plan.cycles, 1):
        lines.append(f"  subgraph cluster_cycle_{i} {{")
        lines.append(f'    label="cycle {i}"; color=red; fontcolor=red;')
        lines += [f"    {_quote(t)} [color=red];" for t in cycle]
        lines.append("  }")
    lines += [f"  {_quote(t)};" for t in plan.order if t not in in_cycle]
    outside = sorted({t for o in plan.outside for t in o.targets})
    lines += [f"  {_quote(t)} [style=dotted];" for t in outside]
    styles = {
        "required": "style=bold",
        "nullable": "",
        "deferred": "style=dashed, color=red",
        "outside": "style=dotted",
    }
    for table, column, target, kind in _edges(plan):
        label = column + (" (deferred)" if kind == "deferred" else "")
        attrs = ", ".join(a for a in (f"label={_quote(label)}", styles[kind]) if a)
        lines.append(f"  {_quote(table)} -> {_quote(target)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


_SAFE = re.compile(r"[^A-Za-z0-9_]")


def _mid(name: str) -> str:
    return "t_" + _SAFE.sub("_", name)


def render_mermaid(plan: Plan) -> str:
    """Mermaid flowchart: one subgraph per cycle (class ``cycle``), deferred lookups dotted arrows."""
    lines = ["flowchart BT"]
    in_cycle = {t for c in plan.cycles for t in c}
    for i, cycle in enumerate(plan.cycles, 1):
        lines.append(f'  subgraph cycle_{i} ["cycle {i}"]')
        lines += [f'    {_mid(t)}["{t}"]' for t in cycle]
        lines.append("  end")
    lines += [f'  {_mid(t)}["{t}"]' for t in plan.order if t not in in_cycle]
    outside = sorted({t for o in plan.outside for t in o.targets})
    lines += [f'  {_mid(t)}(["{t} (outside)"])' for t in outside]
    arrows = {"required": "==>", "nullable": "-->", "deferred": "-.->", "outside": "-.->"}
    for table, column, target, kind in _edges(plan):
        label = column + (" (deferred)" if kind == "deferred" else "")
        lines.append(f'  {_mid(table)} {arrows[kind]}|"{label}"| {_mid(target)}')
    lines.append("  classDef cycle stroke:#d33,stroke-width:2px")
    lines.append("  classDef outside stroke-dasharray:3 3")
    if in_cycle:
        lines.append("  class " + ",".join(_mid(t) for t in sorted(in_cycle)) + " cycle")
    if outside:
        lines.append("  class " + ",".join(_mid(t) for t in outside) + " outside")
    return "\n".join(lines) + "\n"


def render(plan: Plan, fmt: str = "text") -> str:
    """The plan in ``fmt``: ``text``, ``json``, ``dot`` or ``mermaid``."""
    renderers = {"text": render_text, "json": render_json, "dot": render_dot, "mermaid": render_mermaid}
    if fmt not in renderers:
        from seeder.errors import UsageError

        raise UsageError(f"unknown plan format {fmt!r}", hint="use one of: " + ", ".join(renderers))
    return renderers[fmt](plan)

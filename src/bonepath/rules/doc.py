"""docs/rules.md, generated from the rule objects so the documentation cannot drift.

Regenerate with ``bonepath rules --write docs/rules.md``; a test fails when the file is stale.
"""

from __future__ import annotations

from bonepath.rules.catalogue import Catalogue
from bonepath.rules.sources import GL24_FILE, WP_FILE
from bonepath.vocab import Family

_FAMILY_NAMES = {
    Family.VAL: ("评估约定", "Evaluation conventions"),
    Family.SCORE: ("评分", "Scores"),
    Family.SCR: ("筛查与随访", "Screening and surveillance"),
    Family.DX: ("诊断", "Diagnosis"),
    Family.BTA: ("骨改良药物", "Bone-targeted agents"),
    Family.SAFE: ("安全性", "Safety"),
    Family.ADH: ("规范用药", "Adherence"),
    Family.TX: ("全身治疗", "Systemic therapy"),
    Family.PAIN: ("疼痛", "Pain"),
    Family.RT: ("放疗", "Radiotherapy"),
    Family.SURG: ("外科评分", "Surgery scores"),
    Family.MDT: ("多学科诊疗", "MDT"),
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(catalogue: Catalogue) -> str:
    """The catalogue as Markdown: per family, each rule's id, titles, logic and sources."""
    lines = [
        "# Rule catalogue (generated)",
        "",
        f"Rules version **{catalogue.version}**, {len(catalogue)} rules. Generated from the rule",
        "objects in `src/bonepath/rules/` by `bonepath rules --write docs/rules.md`; do not edit by",
        "hand. The specification is `shared/spec/rules.md`; choices where it is silent or",
        "ambiguous are in `docs/clarifications.md`.",
        "",
        f"Seeds: `{WP_FILE}` (whitepaper, WP), `{GL24_FILE}` (2024 guideline interpretation, GL24).",
        "Marks: [V] seen in a stored source, [K] published fact to verify, [S] system convention.",
        "",
    ]
    for family in Family:
        rules = [r for r in catalogue if r.family is family]
        if not rules:
            continue
        zh, en = _FAMILY_NAMES[family]
        lines += [f"## {family.value}: {en} / {zh}", ""]
        for r in rules:
            kinds = "/".join(k.value for k in r.possible_kinds)
            per = "per item" if r.per_item else "once"
            lines += [
                f"### {r.id} — {r.title.en}",
                "",
                f"**{r.title.zh}** · kind `{kinds}` · default severity `{r.severity.value}` · {per}",
                "",
                f"- Logic: {_cell(r.logic_text.en)}",
                f"- 逻辑：{_cell(r.logic_text.zh)}",
                f"- Values: {', '.join(f'`{v}`' for v in r.values) or '(none)'}",
            ]
            for kind, keys in r.kind_values:
                lines.append(f"- Values when `{kind.value}`: {', '.join(f'`{v}`' for v in keys)}")
            lines.append("- Sources:")
            lines += [f"  - {_cell(c.render())}" + (f" — “{c.quote}”" if c.quote else "") for c in r.sources]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"

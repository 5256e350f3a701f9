"""Per-lesion fracture and instability scores (Mirels, SINS), shared by SURG, RT and MDT.

No rule lives here: RT-01 (v1.1) and MDT-01 read the same scores that SURG-01/02 report, so the
scores are computed once per evaluation (:func:`bonepath.rules.frame.shared`) and this module
registers nothing (importing it cannot change the catalogue order).
"""

from __future__ import annotations

import ibis.expr.types as ir

from bonepath.rules.expr import is_true, null, str_list, when
from bonepath.rules.facts import LONG_BONES, SPINE
from bonepath.rules.frame import Frame, shared

JUNCTIONAL = ("C1", "C2", "C7", "T1", "T2", "T11", "T12", "L1", "L5", "S1")
MOBILE = ("C3", "C4", "C5", "C6", "L2", "L3", "L4")
SEMI_RIGID = tuple(f"T{i}" for i in range(3, 11))
RIGID = ("S2", "S3", "S4", "S5")


@shared
def lesions(f: Frame) -> ir.Table:
    """Lesions of confirmed/suspected patients with their Pain context and scores."""
    les = f.on_facts(
        "lesions",
        "confirmed",
        "suspected",
        "pain_seq",
        "pain_nrs",
        "pain_mechanical",
    )
    les = les.filter(les.confirmed | les.suspected)
    sites = f["symptom_sites"].select(_pk=f["symptom_sites"].pk, _seq=f["symptom_sites"].seq, _site=f["symptom_sites"].site)
    sites = sites.distinct()
    joined = les.left_join(
        sites, (les.pk == sites._pk) & (les.pain_seq == sites._seq) & (les.site == sites._site)
    )
    joined = joined.mutate(pain_here=joined._site.notnull()).drop("_pk", "_seq", "_site")
    return _scores(joined)


def _scores(t: ir.Table) -> ir.Table:
    mech = is_true(t.pain_mechanical)
    # Mirels (long bones)
    m_site = when(
        (is_true(t.peritrochanteric), 3),
        (t.site.isin(("femur", "tibia_fibula")), 2),
        else_=1,
    )
    m_pain = when(
        (t.pain_here & mech, 3),
        (t.pain_here & is_true(t.pain_nrs >= 4), 2),
        else_=1,
    )
    m_kind = when((t.kind == "blastic", 1), (t.kind == "mixed", 2), (t.kind == "lytic", 3), else_=null("int64"))
    cortex = t.cortical_involvement_pct
    m_cortex = when((cortex < 33.3, 1), (cortex <= 66.7, 2), (cortex.notnull(), 3), else_=null("int64"))
    mirels_missing = str_list([(t.kind.isnull(), "kind"), (cortex.isnull(), "cortical_involvement_pct")])
    # SINS (spine)
    s_loc = when(
        (t.level.isin(JUNCTIONAL), 3),
        (t.level.isin(MOBILE), 2),
        (t.level.isin(SEMI_RIGID), 1),
        (t.level.isin(RIGID), 0),
        else_=null("int64"),
    )
    s_pain = when((t.pain_here & mech, 3), (t.pain_here, 1), else_=0)
    s_kind = when((t.kind == "lytic", 2), (t.kind == "mixed", 1), (t.kind == "blastic", 0), else_=null("int64"))
    s_align = when(
        (t.alignment == "subluxation", 4), (t.alignment == "deformity", 2), (t.alignment == "normal", 0),
        else_=null("int64"),
    )
    s_collapse = when(
        (t.collapse == "gt50", 3), (t.collapse == "lt50", 2), (t.collapse == "none_gt50_involved", 1),
        (t.collapse == "none", 0), else_=null("int64"),
    )
    s_post = when(
        (t.posterolateral == "bilateral", 3), (t.posterolateral == "unilateral", 1),
        (t.posterolateral == "none", 0), else_=null("int64"),
    )
    sins_missing = str_list(
        [
            (t.level.isnull(), "level"),
            (t.kind.isnull(), "kind"),
            (t.alignment.isnull(), "alignment"),
            (t.collapse.isnull(), "collapse"),
            (t.posterolateral.isnull(), "posterolateral"),
        ]
    )
    return t.mutate(
        is_long=t.site.isin(LONG_BONES),
        is_spine=t.site.isin(SPINE),
        mirels=(m_site + m_pain + m_kind + m_cortex).cast("int64"),
        mirels_missing=mirels_missing,
        sins=(s_loc + s_pain + s_kind + s_align + s_collapse + s_post).cast("int64"),
        sins_missing=sins_missing,
    )

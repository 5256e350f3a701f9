"""The CT report checker applied when a record is flattened (issue 17, clarifications C-28).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

- ``imaging``: ``bone_window_source`` (``recorded`` | ``report`` | null),
  ``report_bone_window`` (the checker's ``described`` / ``not_described`` for a CT with report
  text) and ``report_evidence`` (its evidence sentences, one per line); ``bone_window_reviewed``
  now holds the effective value (a person's value, else the report's).
- ``imaging_sites``: ``result`` (null = the exam's result; ``suspicious`` for a site a report
  names with a positive or suspicious bone finding) and ``source`` (``recorded`` | ``report``).

Backfill: every stored row gets its source; every CT row with ``report_text`` is read by the
checker of this version (:func:`bonepath.record.columns.derive_imaging`, the function a new
import uses), so a store upgraded in place says what a fresh import of the same records says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("imaging") as batch:
        batch.add_column(sa.Column("bone_window_source", sa.Text(), nullable=True))
        batch.add_column(sa.Column("report_bone_window", sa.Text(), nullable=True))
        batch.add_column(sa.Column("report_evidence", sa.Text(), nullable=True))
    with op.batch_alter_table("imaging_sites") as batch:
        batch.add_column(sa.Column("result", sa.Text(), nullable=True))
        batch.add_column(sa.Column("source", sa.Text(), nullable=True))
    op.execute(
        "UPDATE imaging SET bone_window_source = 'recorded' WHERE bone_window_reviewed IS NOT NULL"
    )
    op.execute("UPDATE imaging_sites SET source = 'recorded'")
    _backfill_reports()


def _backfill_reports() -> None:
    from bonepath.record.columns import REPORT_SITE_RESULT, derive_imaging

    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT pk, seq, result, bone_window_reviewed, report_text FROM imaging "
            "WHERE modality = 'ct' AND report_text IS NOT NULL"
        )
    ).all()
    if not rows:
        return
    sites: dict[tuple[int, int], list[str]] = defaultdict(list)
    for pk, seq, site in conn.execute(
        sa.text(
            "SELECT s.pk, s.seq, s.site FROM imaging_sites s JOIN imaging i "
            "ON i.pk = s.pk AND i.seq = s.seq "
            "WHERE i.modality = 'ct' AND i.report_text IS NOT NULL AND s.site IS NOT NULL"
        )
    ):
        sites[(pk, seq)].append(site)
    update = sa.text(
        "UPDATE imaging SET bone_window_reviewed = :reviewed, bone_window_source = :source, "
        "report_bone_window = :window, report_evidence = :evidence WHERE pk = :pk AND seq = :seq"
    )
    insert = sa.text(
        "INSERT INTO imaging_sites (pk, seq, site, result, source) "
        "VALUES (:pk, :seq, :site, :result, 'report')"
    )
    updates: list[dict[str, object]] = []
    inserts: list[dict[str, object]] = []
    for pk, seq, result, reviewed, report_text in rows:
        recorded = None if reviewed is None else bool(reviewed)
        d = derive_imaging("ct", result, recorded, tuple(sites[(pk, seq)]), report_text)
        updates.append(
            {
                "pk": pk,
                "seq": seq,
                "reviewed": d.bone_window_reviewed,
                "source": d.bone_window_source,
                "window": d.report_bone_window,
                "evidence": d.evidence_text,
            }
        )
        inserts.extend(
            {"pk": pk, "seq": seq, "site": site, "result": REPORT_SITE_RESULT}
            for site in d.report_sites
        )
    conn.execute(update, updates)
    if inserts:
        conn.execute(insert, inserts)


def downgrade() -> None:
    # the effective flag goes back to what was typed; the report's site rows go away
    op.execute("UPDATE imaging SET bone_window_reviewed = NULL WHERE bone_window_source = 'report'")
    op.execute("DELETE FROM imaging_sites WHERE source = 'report'")
    with op.batch_alter_table("imaging_sites") as batch:
        batch.drop_column("source")
        batch.drop_column("result")
    with op.batch_alter_table("imaging") as batch:
        batch.drop_column("report_evidence")
        batch.drop_column("report_bone_window")
        batch.drop_column("bone_window_source")

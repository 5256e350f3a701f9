"""Initial schema: patients, one table per event family, import batches.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Generated once from ``bonepath.store.schema.metadata`` (Alembic autogenerate) and frozen:
later changes to ``record.columns.TABLES`` need a new migration, never an edit here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("import_source", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_table(
        "patients",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("smoking", sa.Text(), nullable=True),
        sa.Column("hospital_id", sa.Text(), nullable=True),
        sa.Column("hospital_name", sa.Text(), nullable=True),
        sa.Column("city_tier", sa.Text(), nullable=True),
        sa.Column("hospital_type", sa.Text(), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("physician_id", sa.Text(), nullable=True),
        sa.Column("physician_title", sa.Text(), nullable=True),
        sa.Column("comorbidities_recorded", sa.Boolean(), nullable=True),
        sa.Column("comorbidity_diabetes", sa.Boolean(), nullable=True),
        sa.Column("comorbidity_ckd", sa.Boolean(), nullable=True),
        sa.Column("comorbidity_dialysis", sa.Boolean(), nullable=True),
        sa.Column("comorbidity_dental_disease", sa.Boolean(), nullable=True),
        sa.Column("comorbidity_osteoporosis", sa.Boolean(), nullable=True),
        sa.Column("comorbidity_other", sa.Boolean(), nullable=True),
        sa.Column("diagnosis_date", sa.Date(), nullable=True),
        sa.Column("histology", sa.Text(), nullable=True),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("tnm", sa.Text(), nullable=True),
        sa.Column("pd_l1_tps", sa.Double(), nullable=True),
        sa.Column("setting", sa.Text(), nullable=True),
        sa.Column("surgery_date", sa.Date(), nullable=True),
        sa.Column("recurrence_date", sa.Date(), nullable=True),
        sa.Column("visceral_metastasis", sa.Text(), nullable=True),
        sa.Column("driver_EGFR", sa.Text(), nullable=True),
        sa.Column("driver_ALK", sa.Text(), nullable=True),
        sa.Column("driver_ROS1", sa.Text(), nullable=True),
        sa.Column("driver_KRAS_G12C", sa.Text(), nullable=True),
        sa.Column("driver_BRAF_V600E", sa.Text(), nullable=True),
        sa.Column("driver_MET", sa.Text(), nullable=True),
        sa.Column("driver_RET", sa.Text(), nullable=True),
        sa.Column("driver_NTRK", sa.Text(), nullable=True),
        sa.Column("driver_HER2", sa.Text(), nullable=True),
        sa.Column("bm_status", sa.Text(), nullable=True),
        sa.Column("bm_confirmed_date", sa.Date(), nullable=True),
        sa.Column("plan_drug", sa.Text(), nullable=True),
        sa.Column("plan_interval_days", sa.BigInteger(), nullable=True),
        sa.Column(
            "record",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("import_source", sa.Text(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_patients_import_batch_id_import_batches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_patients")),
        sa.UniqueConstraint("source", "id", name=op.f("uq_patients_source_id")),
    )
    op.create_index(op.f("ix_patients_hospital_id"), "patients", ["hospital_id"], unique=False)
    op.create_table(
        "adverse_events",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("grade", sa.BigInteger(), nullable=True),
        sa.Column("stage", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_adverse_events_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_adverse_events")),
    )
    op.create_index(op.f("ix_adverse_events_date"), "adverse_events", ["date"], unique=False)
    op.create_table(
        "biopsy",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_biopsy_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_biopsy")),
    )
    op.create_index(op.f("ix_biopsy_date"), "biopsy", ["date"], unique=False)
    op.create_table(
        "bta",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("drug", sa.Text(), nullable=True),
        sa.Column("dose_mg", sa.Double(), nullable=True),
        sa.Column("route", sa.Text(), nullable=True),
        sa.Column("interval_days", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_bta_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_bta")),
    )
    op.create_index(op.f("ix_bta_date"), "bta", ["date"], unique=False)
    op.create_table(
        "bta_stop",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_bta_stop_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_bta_stop")),
    )
    op.create_index(op.f("ix_bta_stop_date"), "bta_stop", ["date"], unique=False)
    op.create_table(
        "dental",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_dental_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_dental")),
    )
    op.create_index(op.f("ix_dental_date"), "dental", ["date"], unique=False)
    op.create_table(
        "imaging",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("modality", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("bone_window_reviewed", sa.Boolean(), nullable=True),
        sa.Column("lesion_count", sa.BigInteger(), nullable=True),
        sa.Column("report_text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_imaging_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_imaging")),
    )
    op.create_index(op.f("ix_imaging_date"), "imaging", ["date"], unique=False)
    op.create_table(
        "imaging_sites",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("site", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_imaging_sites_pk_patients"), ondelete="CASCADE"
        ),
    )
    op.create_index(op.f("ix_imaging_sites_pk_seq"), "imaging_sites", ["pk", "seq"], unique=False)
    op.create_table(
        "labs",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("test", sa.Text(), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("lln", sa.Double(), nullable=True),
        sa.Column("uln", sa.Double(), nullable=True),
        sa.Column("value_std", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_labs_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_labs")),
    )
    op.create_index(op.f("ix_labs_date"), "labs", ["date"], unique=False)
    op.create_table(
        "lesions",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("size_mm", sa.Double(), nullable=True),
        sa.Column("cortical_involvement_pct", sa.Double(), nullable=True),
        sa.Column("level", sa.Text(), nullable=True),
        sa.Column("peritrochanteric", sa.Boolean(), nullable=True),
        sa.Column("alignment", sa.Text(), nullable=True),
        sa.Column("collapse", sa.Text(), nullable=True),
        sa.Column("posterolateral", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_lesions_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_lesions")),
    )
    op.create_table(
        "mdt",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("attendees", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_mdt_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_mdt")),
    )
    op.create_index(op.f("ix_mdt_date"), "mdt", ["date"], unique=False)
    op.create_table(
        "medications",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("class", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_medications_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_medications")),
    )
    op.create_index(op.f("ix_medications_date"), "medications", ["date"], unique=False)
    op.create_table(
        "performance",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("ecog", sa.BigInteger(), nullable=True),
        sa.Column("kps", sa.BigInteger(), nullable=True),
        sa.Column("life_expectancy_months", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_performance_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_performance")),
    )
    op.create_index(op.f("ix_performance_date"), "performance", ["date"], unique=False)
    op.create_table(
        "sre",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_sre_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_sre")),
    )
    op.create_index(op.f("ix_sre_date"), "sre", ["date"], unique=False)
    op.create_table(
        "supplements",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("calcium_mg_daily", sa.Double(), nullable=True),
        sa.Column("vitamin_d_iu_daily", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_supplements_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_supplements")),
    )
    op.create_index(op.f("ix_supplements_date"), "supplements", ["date"], unique=False)
    op.create_table(
        "symptom_sites",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("site", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_symptom_sites_pk_patients"), ondelete="CASCADE"
        ),
    )
    op.create_index(op.f("ix_symptom_sites_pk_seq"), "symptom_sites", ["pk", "seq"], unique=False)
    op.create_table(
        "symptoms",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("bone_pain", sa.BigInteger(), nullable=True),
        sa.Column("neuro_deficit", sa.Boolean(), nullable=True),
        sa.Column("mechanical_pain", sa.Boolean(), nullable=True),
        sa.Column("frankel", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_symptoms_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_symptoms")),
    )
    op.create_index(op.f("ix_symptoms_date"), "symptoms", ["date"], unique=False)
    op.create_table(
        "treatments",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("dose_gy", sa.Double(), nullable=True),
        sa.Column("fractions", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_treatments_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_treatments")),
    )
    op.create_index(op.f("ix_treatments_date"), "treatments", ["date"], unique=False)
    op.create_table(
        "vitals",
        sa.Column("pk", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("weight_kg", sa.Double(), nullable=True),
        sa.Column("height_cm", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pk"], ["patients.pk"], name=op.f("fk_vitals_pk_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pk", "seq", name=op.f("pk_vitals")),
    )
    op.create_index(op.f("ix_vitals_date"), "vitals", ["date"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_vitals_date"), table_name="vitals")
    op.drop_table("vitals")
    op.drop_index(op.f("ix_treatments_date"), table_name="treatments")
    op.drop_table("treatments")
    op.drop_index(op.f("ix_symptoms_date"), table_name="symptoms")
    op.drop_table("symptoms")
    op.drop_index(op.f("ix_symptom_sites_pk_seq"), table_name="symptom_sites")
    op.drop_table("symptom_sites")
    op.drop_index(op.f("ix_supplements_date"), table_name="supplements")
    op.drop_table("supplements")
    op.drop_index(op.f("ix_sre_date"), table_name="sre")
    op.drop_table("sre")
    op.drop_index(op.f("ix_performance_date"), table_name="performance")
    op.drop_table("performance")
    op.drop_index(op.f("ix_medications_date"), table_name="medications")
    op.drop_table("medications")
    op.drop_index(op.f("ix_mdt_date"), table_name="mdt")
    op.drop_table("mdt")
    op.drop_table("lesions")
    op.drop_index(op.f("ix_labs_date"), table_name="labs")
    op.drop_table("labs")
    op.drop_index(op.f("ix_imaging_sites_pk_seq"), table_name="imaging_sites")
    op.drop_table("imaging_sites")
    op.drop_index(op.f("ix_imaging_date"), table_name="imaging")
    op.drop_table("imaging")
    op.drop_index(op.f("ix_dental_date"), table_name="dental")
    op.drop_table("dental")
    op.drop_index(op.f("ix_bta_stop_date"), table_name="bta_stop")
    op.drop_table("bta_stop")
    op.drop_index(op.f("ix_bta_date"), table_name="bta")
    op.drop_table("bta")
    op.drop_index(op.f("ix_biopsy_date"), table_name="biopsy")
    op.drop_table("biopsy")
    op.drop_index(op.f("ix_adverse_events_date"), table_name="adverse_events")
    op.drop_table("adverse_events")
    op.drop_index(op.f("ix_patients_hospital_id"), table_name="patients")
    op.drop_table("patients")
    op.drop_table("import_batches")

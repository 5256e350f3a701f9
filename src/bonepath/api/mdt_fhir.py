"""A patient's MDT resources for the ``/fhir`` API (docs/fhir.md "MDT referrals, cases and
decisions"): their MDT cases (``Task``, and the decision as ``CarePlan``) and their referrals to
a regional centre (``Task``, the thread as ``Communication``, the centre's answer as
``CarePlan``), as the patient's own hospital sees them. The ``/fhir`` API resolves the patient
through the caller's grants first, so a centre's users never reach these (404)."""

from __future__ import annotations

from typing import Any

from bonepath.api import network_service
from bonepath.interop.fhir.from_record import patient_id
from bonepath.interop.fhir.mdt import case_resources, referral_bundle
from bonepath.record.model import Record
from bonepath.store import mdt as mdt_store
from bonepath.store import network
from bonepath.store.repository import Store

MDT_TYPES = ("Task", "CarePlan", "Communication")


def mdt_resources(store: Store, record: Record, kind: str) -> list[dict[str, Any]]:
    """The patient's MDT resources of type ``kind`` (ids ``<patient>-mdt…-<n>``)."""
    if kind not in MDT_TYPES:
        return []
    pid = patient_id(record)
    key = (record.source, record.id)
    found: list[dict[str, Any]] = []
    for case in mdt_store.list_cases(store.engine, patient=key):
        decision = case.decision.to_json() if case.decision else None
        found += case_resources(case.to_json(), decision, patient_id=pid)
    for listed in network.list_referrals(store.engine, patient=key):
        referral = network.get_referral(store.engine, listed.code)
        if referral is None:
            continue
        bundle = referral_bundle(
            code=referral.code,
            state=referral.state,
            question=referral.question,
            question_text=referral.question_text,
            referring_hospital=(
                referral.hospital_id,
                network_service.hospital_label(store, referral.hospital_id),
            ),
            centre=(referral.centre_id, network_service.hospital_label(store, referral.centre_id)),
            referred_at=referral.referred_at,
            package=referral.package,
            messages=network_service.thread_for(store, referral, "referrer"),
            decision=referral.decision,
            patient_reference=f"Patient/{pid}",
            api_ids=(pid, referral.id),
        )
        found += [e["resource"] for e in bundle["entry"]]
    return [r for r in found if r["resourceType"] == kind]

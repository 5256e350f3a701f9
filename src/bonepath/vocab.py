"""Every coded vocabulary of the patient record v1 and of findings, as StrEnums.

The enum values are the wire codes of ``shared/spec/record-format.md`` and
``shared/spec/interfaces.md``: lower-case, stable, never renamed (a code may be added).
"""

from __future__ import annotations

from enum import StrEnum

RECORD_FORMAT = "bonepath-record/1"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


class CityTier(StrEnum):
    TIER1_2 = "tier1-2"
    TIER3_4 = "tier3-4"


class HospitalType(StrEnum):
    GENERAL = "general"
    CANCER = "cancer"


class Department(StrEnum):
    ONCOLOGY = "oncology"
    RESPIRATORY = "respiratory"
    THORACIC_ONCOLOGY = "thoracic_oncology"
    THORACIC_SURGERY = "thoracic_surgery"
    RADIOTHERAPY = "radiotherapy"
    ORTHOPEDICS = "orthopedics"
    NUCLEAR_MEDICINE = "nuclear_medicine"
    RADIOLOGY = "radiology"
    OTHER = "other"


class PhysicianTitle(StrEnum):
    CHIEF = "chief"
    ASSOCIATE_CHIEF = "associate_chief"
    ATTENDING = "attending"


class Smoking(StrEnum):
    NEVER = "never"
    FORMER = "former"
    CURRENT = "current"


class Comorbidity(StrEnum):
    DIABETES = "diabetes"
    CKD = "ckd"
    DIALYSIS = "dialysis"
    DENTAL_DISEASE = "dental_disease"
    OSTEOPOROSIS = "osteoporosis"
    OTHER = "other"


class Histology(StrEnum):
    ADENOCARCINOMA = "adenocarcinoma"
    SQUAMOUS = "squamous"
    LARGE_CELL = "large_cell"
    NSCLC_NOS = "nsclc_nos"
    SCLC = "sclc"
    OTHER = "other"


class Stage(StrEnum):
    I = "I"  # noqa: E741 - the AJCC stage is the Roman numeral
    II = "II"
    III = "III"
    IV = "IV"


class Gene(StrEnum):
    """Driver genes, in record-format order (TX-02 lists positive genes in this order)."""

    EGFR = "EGFR"
    ALK = "ALK"
    ROS1 = "ROS1"
    KRAS_G12C = "KRAS_G12C"
    BRAF_V600E = "BRAF_V600E"
    MET = "MET"
    RET = "RET"
    NTRK = "NTRK"
    HER2 = "HER2"


class DriverStatus(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    UNKNOWN = "unknown"


class Setting(StrEnum):
    RESECTED = "resected"
    LOCALLY_ADVANCED = "locally_advanced"
    ADVANCED = "advanced"


class VisceralMetastasis(StrEnum):
    NONE = "none"
    REMOVABLE = "removable"
    UNREMOVABLE = "unremovable"


class BoneMetStatus(StrEnum):
    NONE = "none"
    SUSPECTED = "suspected"
    CONFIRMED = "confirmed"


class Site(StrEnum):
    SKULL = "skull"
    CERVICAL_SPINE = "cervical_spine"
    THORACIC_SPINE = "thoracic_spine"
    LUMBAR_SPINE = "lumbar_spine"
    SACRUM = "sacrum"
    PELVIS = "pelvis"
    ACETABULUM = "acetabulum"
    RIB = "rib"
    STERNUM = "sternum"
    CLAVICLE = "clavicle"
    SCAPULA = "scapula"
    HUMERUS = "humerus"
    RADIUS_ULNA = "radius_ulna"
    FEMUR = "femur"
    TIBIA_FIBULA = "tibia_fibula"
    OTHER = "other"


SPINE_SITES: tuple[Site, ...] = (
    Site.CERVICAL_SPINE,
    Site.THORACIC_SPINE,
    Site.LUMBAR_SPINE,
    Site.SACRUM,
)
LONG_BONE_SITES: tuple[Site, ...] = (Site.HUMERUS, Site.RADIUS_ULNA, Site.FEMUR, Site.TIBIA_FIBULA)


class LesionKind(StrEnum):
    LYTIC = "lytic"
    BLASTIC = "blastic"
    MIXED = "mixed"


class Alignment(StrEnum):
    NORMAL = "normal"
    DEFORMITY = "deformity"
    SUBLUXATION = "subluxation"


class Collapse(StrEnum):
    NONE = "none"
    NONE_GT50_INVOLVED = "none_gt50_involved"
    LT50 = "lt50"
    GT50 = "gt50"


class Posterolateral(StrEnum):
    NONE = "none"
    UNILATERAL = "unilateral"
    BILATERAL = "bilateral"


def _vertebrae() -> tuple[str, ...]:
    return (
        tuple(f"C{i}" for i in range(1, 8))
        + tuple(f"T{i}" for i in range(1, 13))
        + tuple(f"L{i}" for i in range(1, 6))
        + tuple(f"S{i}" for i in range(1, 6))
    )


VERTEBRA_LEVELS: tuple[str, ...] = _vertebrae()


class Modality(StrEnum):
    BONE_SCAN = "bone_scan"
    CT = "ct"
    MRI = "mri"
    PET_CT = "pet_ct"
    XRAY = "xray"
    SPECT_CT = "spect_ct"


class Region(StrEnum):
    WHOLE_BODY = "whole_body"
    CHEST = "chest"
    CHEST_ABDOMEN = "chest_abdomen"
    HEAD = "head"
    SPINE = "spine"
    PELVIS = "pelvis"
    LIMB = "limb"
    OTHER = "other"


class ImagingResult(StrEnum):
    NEGATIVE = "negative"
    SUSPICIOUS = "suspicious"
    POSITIVE = "positive"


class BiopsyResult(StrEnum):
    METASTATIC_LUNG = "metastatic_lung"
    OTHER_MALIGNANCY = "other_malignancy"
    BENIGN = "benign"
    NONDIAGNOSTIC = "nondiagnostic"


class LabTest(StrEnum):
    CREATININE = "creatinine"
    CALCIUM = "calcium"
    ALBUMIN = "albumin"
    ALP = "alp"
    BALP = "balp"
    PINP = "pinp"
    CTX = "ctx"
    NTX = "ntx"
    VITAMIN_D = "vitamin_d"


BONE_TURNOVER_MARKERS: tuple[LabTest, ...] = (
    LabTest.ALP,
    LabTest.BALP,
    LabTest.PINP,
    LabTest.CTX,
    LabTest.NTX,
)


class Frankel(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class Drug(StrEnum):
    """Bone-targeted agents (GL24 表1 plus pamidronate)."""

    DENOSUMAB = "denosumab"
    ZOLEDRONIC_ACID = "zoledronic_acid"
    IBANDRONATE = "ibandronate"
    INCADRONATE = "incadronate"
    PAMIDRONATE = "pamidronate"


BISPHOSPHONATES: tuple[Drug, ...] = (
    Drug.ZOLEDRONIC_ACID,
    Drug.IBANDRONATE,
    Drug.INCADRONATE,
    Drug.PAMIDRONATE,
)


class Route(StrEnum):
    IV = "iv"
    SC = "sc"


class StopReason(StrEnum):
    PAIN_RELIEF = "pain_relief"
    DISEASE_STABLE = "disease_stable"
    POOR_PERFORMANCE_STATUS = "poor_performance_status"
    ONJ = "onj"
    RENAL_TOXICITY = "renal_toxicity"
    HYPOCALCEMIA = "hypocalcemia"
    PATIENT_REFUSAL = "patient_refusal"
    COST = "cost"
    OTHER = "other"


class DentalResult(StrEnum):
    OK = "ok"
    NEEDS_TREATMENT = "needs_treatment"
    INVASIVE_PROCEDURE_DONE = "invasive_procedure_done"


class MedicationClass(StrEnum):
    NSAID = "nsaid"
    WEAK_OPIOID = "weak_opioid"
    STRONG_OPIOID_SHORT = "strong_opioid_short"
    STRONG_OPIOID_LONG = "strong_opioid_long"
    CISPLATIN = "cisplatin"
    CORTICOSTEROID = "corticosteroid"
    ADJUVANT_ANALGESIC = "adjuvant_analgesic"
    OTHER = "other"


class MedicationAction(StrEnum):
    START = "start"
    STOP = "stop"


class TreatmentKind(StrEnum):
    TARGETED = "targeted"
    CHEMOTHERAPY = "chemotherapy"
    IMMUNOTHERAPY = "immunotherapy"
    CHEMO_IMMUNOTHERAPY = "chemo_immunotherapy"
    RADIOTHERAPY_BONE = "radiotherapy_bone"
    SBRT_BONE = "sbrt_bone"
    RADIONUCLIDE = "radionuclide"
    SURGERY_BONE = "surgery_bone"
    ABLATION_CEMENTOPLASTY = "ablation_cementoplasty"
    OTHER = "other"


SYSTEMIC_TREATMENTS: tuple[TreatmentKind, ...] = (
    TreatmentKind.TARGETED,
    TreatmentKind.CHEMOTHERAPY,
    TreatmentKind.IMMUNOTHERAPY,
    TreatmentKind.CHEMO_IMMUNOTHERAPY,
)


class AdverseEventKind(StrEnum):
    ONJ = "onj"
    HYPOCALCEMIA = "hypocalcemia"
    RENAL_TOXICITY = "renal_toxicity"
    OTHER = "other"


class SreKind(StrEnum):
    PATHOLOGIC_FRACTURE = "pathologic_fracture"
    SPINAL_CORD_COMPRESSION = "spinal_cord_compression"
    RADIATION_TO_BONE = "radiation_to_bone"
    SURGERY_TO_BONE = "surgery_to_bone"
    HYPERCALCEMIA = "hypercalcemia"


class MdtQuestion(StrEnum):
    """The record's ``mdt.question`` (record-format.md, added 2026-12)."""

    DIAGNOSIS = "diagnosis"
    BTA = "bta"
    RADIOTHERAPY = "radiotherapy"
    SURGERY = "surgery"
    ONJ = "onj"
    PAIN = "pain"
    OTHER = "other"


class MdtDecision(StrEnum):
    """The record's ``mdt.decisions`` codes (record-format.md, added 2026-12)."""

    BM_CONFIRMED = "bm_confirmed"
    BM_EXCLUDED = "bm_excluded"
    BIOPSY = "biopsy"
    BTA_START = "bta_start"
    BTA_CONTINUE = "bta_continue"
    BTA_STOP = "bta_stop"
    RT_SINGLE_8GY = "rt_single_8gy"
    RT_SBRT = "rt_sbrt"
    RT_POSTOPERATIVE = "rt_postoperative"
    SURGERY_FIXATION = "surgery_fixation"
    SURGERY_DECOMPRESSION = "surgery_decompression"
    RFA_CEMENTOPLASTY = "rfa_cementoplasty"
    ARTHROPLASTY = "arthroplasty"
    PAIN_PLAN = "pain_plan"
    FOLLOW_UP = "follow_up"


# ---- findings (interfaces.md) ------------------------------------------------------------


class FindingKind(StrEnum):
    ACTION = "action"
    REMINDER = "reminder"
    ALERT = "alert"
    DATA_NEEDED = "data_needed"
    INFO = "info"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 = most urgent; used to sort worklists and findings."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class Family(StrEnum):
    """Rule families of rules.md, in catalogue order."""

    VAL = "VAL"
    SCORE = "SCORE"
    SCR = "SCR"
    DX = "DX"
    BTA = "BTA"
    SAFE = "SAFE"
    ADH = "ADH"
    TX = "TX"
    PAIN = "PAIN"
    RT = "RT"
    SURG = "SURG"
    MDT = "MDT"


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"

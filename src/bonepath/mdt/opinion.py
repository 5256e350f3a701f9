"""The MDT opinion (会诊意见) of a referral: one printable, self-contained HTML page.

Printed to PDF by the quality report's headless Chromium (:func:`bonepath.quality.report.
html_to_pdf`). The page is built from plain data (no web framework): the pseudonymous case
number, the de-identified package's key facts, the question, the opinions signed by specialty,
the attendees and the decisions with their rationale. The centre's copy names no patient; the
referring hospital's copy adds the patient's name and id (their own record), and so does the
centre's once a consent to disclose identity is recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

LABELS: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "title": "多学科会诊意见",
        "subtitle": "区域骨转移MDT协作网络 · 远程会诊",
        "case": "会诊编号",
        "from": "申请医院",
        "centre": "会诊中心",
        "referred": "申请时间",
        "answered": "答复时间",
        "patient": "患者",
        "age": "年龄",
        "years": "岁",
        "sex": "性别",
        "question": "会诊问题",
        "facts": "病情摘要（去标识化）",
        "opinions": "各专科意见",
        "attendees": "参加专科",
        "decisions": "会诊决定",
        "rationale": "理由",
        "findings": "病例上的指南提示",
        "none": "无",
        "pending": "尚未答复",
        "deid": "本文件已去标识化：不含姓名、证件号、电话、住址；日期以申请日为第0天的相对天数表示。",
        "identified": "本文件含患者身份信息，仅限申请医院及经患者同意的会诊中心使用。",
        "histology": "病理类型",
        "stage": "分期",
        "bone": "骨转移",
        "lesions": "骨病灶",
        "signed": "签署",
        "male": "男",
        "female": "女",
        "day": "第{day}天",
        "meeting": "会议",
        "chair": "主持",
        "recorder": "记录",
        "attended": "出席",
        "local": "院内多学科会诊",
        "submitted": "提交时间",
        "decided": "决定时间",
    },
    "en": {
        "title": "MDT consultation opinion",
        "subtitle": "Regional bone-metastasis MDT network · remote consultation",
        "case": "Case number",
        "from": "Referring hospital",
        "centre": "Centre",
        "referred": "Referred",
        "answered": "Answered",
        "patient": "Patient",
        "age": "Age",
        "years": "years",
        "sex": "Sex",
        "question": "Question",
        "facts": "Case summary (de-identified)",
        "opinions": "Opinions by specialty",
        "attendees": "Specialties taking part",
        "decisions": "Decisions",
        "rationale": "Rationale",
        "findings": "Guideline findings on the case",
        "none": "none",
        "pending": "not answered yet",
        "deid": "De-identified: no name, id numbers, phone or address; dates are days relative "
        "to the referral (day 0).",
        "identified": "Contains the patient's identity: for the referring hospital and, with "
        "the patient's consent, the centre.",
        "histology": "Histology",
        "stage": "Stage",
        "bone": "Bone metastasis",
        "lesions": "Lesions",
        "signed": "signed",
        "male": "male",
        "female": "female",
        "day": "day {day}",
        "meeting": "Meeting",
        "chair": "chair",
        "recorder": "recorder",
        "attended": "Attended",
        "local": "Hospital MDT",
        "submitted": "Submitted",
        "decided": "Decided",
    },
}

CSS: Final = (
    "body{font-family:'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC',sans-serif;"
    "margin:2cm;color:#111;font-size:11pt}h1{font-size:18pt;text-align:center;margin:0}"
    ".sub{text-align:center;color:#555;margin:.3em 0 1em}table{border-collapse:collapse;"
    "width:100%;margin:.5em 0}td,th{border:1px solid #999;padding:4px 6px;text-align:left;"
    "vertical-align:top}h2{font-size:13pt;border-bottom:1px solid #333;margin-top:1.2em}"
    ".note{color:#555;font-size:9pt}.op{margin:.4em 0;padding:.3em .5em;border-left:3px solid"
    " #888}"
)


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def render_opinion(
    *,
    lang: str,
    code: str,
    referring_hospital: str,
    centre: str,
    referred_at: dt.datetime,
    answered_at: dt.datetime | None,
    package: Mapping[str, Any],
    question_label: str,
    opinions: Sequence[Mapping[str, Any]],
    specialty_labels: Mapping[str, str],
    decision_labels: Mapping[str, str],
    decision: Mapping[str, Any] | None,
    identity: Mapping[str, str] | None = None,
    meeting: Mapping[str, Any] | None = None,
    local: bool = False,
) -> str:
    """The 会诊意见 page (``lang`` zh or en). ``opinions``: the thread's opinions (specialty,
    body, at); ``identity``: name and id, only for an identified copy; ``meeting``: a held
    meeting's ``date``, ``chair``, ``recorder`` and ``attendance`` [(specialty, name)];
    ``local``: the hospital's own MDT (no referral rows)."""
    t = LABELS["en" if lang == "en" else "zh"]
    sex = package.get("sex")
    record = package.get("record") or {}
    cancer = record.get("cancer") or {}
    bone = record.get("bone_metastasis") or {}
    rows = [(t["case"], code), (t["from"], referring_hospital)]
    if not local:
        rows.append((t["centre"], centre))
    rows += [
        (t["submitted" if local else "referred"], referred_at.strftime("%Y-%m-%d")),
        (
            t["decided" if local else "answered"],
            answered_at.strftime("%Y-%m-%d") if answered_at else t["pending"],
        ),
    ]
    if meeting:
        who = "、" if lang != "en" else ", "
        line = f"{meeting.get('date', '')}"
        if meeting.get("chair"):
            line += f" · {t['chair']} {meeting['chair']}"
        if meeting.get("recorder"):
            line += f" · {t['recorder']} {meeting['recorder']}"
        rows.append((t["meeting"], line))
        people = [
            f"{specialty_labels.get(str(s), str(s))} {n}".strip()
            for s, n in meeting.get("attendance") or ()
        ]
        if people:
            rows.append((t["attended"], who.join(people)))
    if identity:
        rows.append(
            (t["patient"], f"{identity.get('name', '')} ({identity.get('patient_id', '')})")
        )
    rows += [
        (t["age"], f"{package.get('age', '—')} {t['years']}"),
        (t["sex"], t.get(str(sex), str(sex or "—"))),
        (t["histology"], cancer.get("histology", "—")),
        (t["stage"], f"{cancer.get('stage', '—')} {cancer.get('tnm', '')}".strip()),
        (t["bone"], bone.get("status", "—")),
        (t["lesions"], str(len(bone.get("lesions") or ()))),
    ]
    parts = [
        f'<!DOCTYPE html><html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
        f'<meta charset="utf-8"><title>{_e(t["title"])} {_e(code)}</title>'
        f"<style>{CSS}</style></head><body>",
        f'<h1>{_e(t["title"])}</h1><p class="sub">{_e(t["local"] if local else t["subtitle"])}</p>',
        '<table id="opinion-facts">',
        *(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows),
        "</table>",
        f'<h2>{_e(t["question"])}</h2><p id="opinion-question">{_e(question_label)}'
        f"{'：' if lang != 'en' else ': '}{_e((package.get('question') or {}).get('text', ''))}</p>",
    ]
    findings = (package.get("summary") or {}).get("findings") or []
    if findings:
        parts.append(f'<h2>{_e(t["findings"])}</h2><ul id="opinion-findings">')
        for f in findings:
            title = (f.get("title") or {}).get("en" if lang == "en" else "zh", "")
            parts.append(f"<li>{_e(f.get('rule'))} {_e(title)}</li>")
        parts.append("</ul>")
    parts.append(f'<h2>{_e(t["opinions"])}</h2><div id="opinion-thread">')
    if not opinions:
        parts.append(f"<p>{_e(t['none'])}</p>")
    for o in opinions:
        label = specialty_labels.get(str(o.get("specialty")), str(o.get("specialty")))
        at = o.get("at")
        when = at.strftime("%Y-%m-%d") if isinstance(at, dt.datetime) else ""
        parts.append(
            f'<div class="op"><strong>{_e(label)}</strong> <span class="note">'
            f"{_e(t['signed'])} {_e(when)}</span><br>{_e(o.get('body'))}</div>"
        )
    parts.append("</div>")
    if decision:
        attendees = [specialty_labels.get(a, a) for a in decision.get("attendees") or ()]
        sep = "、" if lang != "en" else ", "
        parts.append(
            f'<h2>{_e(t["attendees"])}</h2><p id="opinion-attendees">'
            f"{_e(sep.join(attendees) or t['none'])}</p>"
        )
        parts.append(f'<h2>{_e(t["decisions"])}</h2><ol id="opinion-decisions">')
        for d in decision.get("decisions") or ():
            label = decision_labels.get(str(d.get("type")), str(d.get("type")))
            extra = " ".join(str(d[k]) for k in ("drug", "stop_reason", "site") if d.get(k))
            parts.append(f"<li>{_e(label)} {_e(extra)}</li>")
        parts.append("</ol>")
        parts.append(
            f'<p><strong>{_e(t["rationale"])}</strong>：<span id="opinion-rationale">'
            f"{_e(decision.get('rationale'))}</span></p>"
        )
    else:
        parts.append(f"<h2>{_e(t['decisions'])}</h2><p>{_e(t['pending'])}</p>")
    parts.append(f'<p class="note">{_e(t["identified"] if identity else t["deid"])}</p>')
    parts.append("</body></html>")
    return "".join(parts)

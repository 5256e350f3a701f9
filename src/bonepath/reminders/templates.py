"""The text of every reminder, in Chinese (default) and English, per channel and audience.

Patient-identifier policy (docs/reminders.md):

- **Staff** messages (nurse station e-mail, staff SMS / WeChat) name the task number, the rule
  id and title, the due day, the hospital and department, and the patient's record id
  **masked** (:func:`mask_patient_id`: only its last characters), never a name, birth date,
  diagnosis details or clinical values. The nurse finds the patient on the worklist by the
  task number.
- **Patient** messages (SMS / WeChat to the patient's own phone) exist only for the dose
  reminders ADH-01/02/03 and carry no identifier and no diagnosis at all (not in the SMS
  signature either): "your next bone-protecting treatment is due on …".

The content is rendered when the message is queued and stored with it, so a message sent
again after a crash is byte-for-byte the one first sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from bonepath.reminders.model import Audience, Recipient, Task
from bonepath.reminders.sms import fit_sms

SMS_SIGNATURE: Final = {"zh": "【随访提醒】", "en": "[Follow-up reminder] "}
"""The SMS signature (Chinese vendors require one, and count it in the 70 characters). It
names no disease: a patient's lock screen shows it to whoever holds the phone."""
STAFF_SMS_MAX_SEGMENTS: Final = 2
PATIENT_SMS_MAX_SEGMENTS: Final = 1

PATIENT_RULES: Final = ("ADH-01", "ADH-02", "ADH-03")
"""The rules with a patient-facing message (dose reminders); others go to staff only."""

_KIND: Final = {
    "zh": {"action": "待办", "reminder": "提醒", "alert": "警示", "data_needed": "需补录"},
    "en": {
        "action": "action",
        "reminder": "reminder",
        "alert": "alert",
        "data_needed": "data needed",
    },
}
_SEVERITY: Final = {
    "zh": {"critical": "危急", "high": "高", "medium": "中", "low": "低"},
    "en": {"critical": "critical", "high": "high", "medium": "medium", "low": "low"},
}

_STAFF: Final = {
    "zh": {
        "subject": "[bonepath] 任务#{task} {rule} {title}（截止 {due}）",
        "body": (
            "任务编号：#{task}\n"
            "规则：{rule}（{kind}，紧急程度：{severity}）\n"
            "内容：{title}\n"
            "截止日期：{due}\n"
            "医院/科室：{hospital} / {department}\n"
            "患者：{patient}（已隐去部分编号；完整信息见 bonepath 工作清单任务 #{task}）\n"
            "\n"
            "请在 bonepath 工作清单中处理并关闭此任务（逾期超过4周的随访须填写原因）。\n"
            "本消息由 bonepath 自动发送，不含患者姓名及临床数值，请勿回复。\n"
        ),
        "sms": "【bonepath】任务#{task} {rule} {title} 截止{due} {hospital} 患者{patient}",
        "first": "bonepath 待办任务 #{task}",
        "remark": "请在工作清单中处理并关闭此任务。",
        "none": "无",
    },
    "en": {
        "subject": "[bonepath] task #{task} {rule} {title} (due {due})",
        "body": (
            "Task: #{task}\n"
            "Rule: {rule} ({kind}, severity: {severity})\n"
            "What: {title}\n"
            "Due: {due}\n"
            "Hospital/department: {hospital} / {department}\n"
            "Patient: {patient} (id partly hidden; full details on the bonepath worklist, "
            "task #{task})\n"
            "\n"
            "Please act on it and close the task on the bonepath worklist (a reason is required "
            "for follow-up more than 4 weeks overdue).\n"
            "Sent automatically by bonepath without the patient's name or clinical values; "
            "do not reply.\n"
        ),
        "sms": "[bonepath] task #{task} {rule} {title} due {due} {hospital} patient {patient}",
        "first": "bonepath task #{task}",
        "remark": "Please act on it and close the task on the worklist.",
        "none": "none",
    },
}

_PATIENT: Final = {
    "zh": {
        "ADH-01": "您好，您的下一次骨保护用药应在{due}进行，请按时回院。如已用药请忽略。",
        "ADH-02": "您好，您的骨保护用药已于{due}到期，请尽快联系主管护士安排用药。",
        "ADH-03": "您好，您的骨保护用药已逾期超过4周（应于{due}），护士将与您联系，也可致电医院。",
        "subject": "骨保护用药提醒",
    },
    "en": {
        "ADH-01": "Your next bone-protecting treatment is due on {due}. Please come on time; "
        "ignore this if already given.",
        "ADH-02": "Your bone-protecting treatment was due on {due}. Please call your nurse to "
        "arrange it.",
        "ADH-03": "Your bone-protecting treatment is more than 4 weeks overdue (due {due}). "
        "A nurse will call you; you may also call the hospital.",
        "subject": "Bone-protecting treatment reminder",
    },
}


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """What a recipient will receive: subject (e-mail), text, and a WeChat ``data`` payload."""

    subject: str
    body: str
    payload: dict[str, Any] | None


def mask_patient_id(patient: str) -> str:
    """The patient's record id with all but its last characters hidden (at most 4 kept,
    never more than half): ``P20260017`` → ``*****0017``, ``P0001`` → ``***01``."""
    keep = min(4, len(patient) // 2)
    return "*" * (len(patient) - keep) + patient[len(patient) - keep :]


def is_deliverable(task: Task, recipient: Recipient) -> bool:
    """Whether ``recipient`` gets a message about ``task`` (rules, hospital, own patient)."""
    if not recipient.active or not recipient.wants(task.rule):
        return False
    if recipient.audience is Audience.PATIENT:
        return (
            task.rule in PATIENT_RULES
            and recipient.patient_source == task.source
            and recipient.patient == task.patient
        )
    return recipient.hospital is None or recipient.hospital == task.hospital


def render_message(task: Task, recipient: Recipient) -> RenderedMessage:
    """The message about ``task`` for ``recipient``'s channel, audience and language."""
    lang = "en" if recipient.lang == "en" else "zh"
    due = task.due.isoformat() if task.due else ("—" if lang == "zh" else "-")
    if recipient.audience is Audience.PATIENT:
        patient_text = _PATIENT[lang]
        text = patient_text[task.rule].format(due=due)
        body = SMS_SIGNATURE[lang] + text if recipient.channel == "sms" else text
        payload = {
            "data": {
                "first": {"value": patient_text["subject"]},
                "keyword1": {"value": patient_text["subject"]},
                "keyword2": {"value": due},
                "keyword3": {"value": "-"},
                "remark": {"value": text},
            }
        }
        return RenderedMessage(patient_text["subject"], body, payload)
    staff = _STAFF[lang]
    fields = {
        "task": str(task.id),
        "rule": task.rule,
        "title": task.title(lang),
        "kind": _KIND[lang].get(task.kind.value, task.kind.value),
        "severity": _SEVERITY[lang].get(task.severity, task.severity),
        "due": due,
        "hospital": task.hospital or staff["none"],
        "department": task.department or staff["none"],
        "patient": mask_patient_id(task.patient),
    }
    subject = staff["subject"].format(**fields)
    if recipient.channel == "sms":
        body = fit_sms(staff["sms"], fields, "title", STAFF_SMS_MAX_SEGMENTS)
    else:
        body = staff["body"].format(**fields)
    payload = {
        "data": {
            "first": {"value": staff["first"].format(**fields)},
            "keyword1": {"value": f"{task.rule} {fields['title']}"},
            "keyword2": {"value": due},
            "keyword3": {"value": f"{fields['hospital']} · {fields['patient']}"},
            "remark": {"value": staff["remark"]},
        }
    }
    return RenderedMessage(subject, body, payload)

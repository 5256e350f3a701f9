"""Chinese and English one-line descriptions of every problem code a user can meet.

A :class:`bonepath.errors.Problem` carries a stable ``code`` and a specific English sentence
(``problem``). The pages show Chinese-speaking staff :func:`describe` instead: in Chinese the
description of the code from :data:`DESCRIPTIONS` followed by the accepted values, in English
the specific sentence, unchanged. The JSON API and the CLI print ``Problem.to_dict`` as
before (interfaces.md); nothing here changes what a transport returns.

:data:`DESCRIPTIONS` is the one table, plain data: the record parser's codes
(:mod:`bonepath.record.problems`) first, then the codes other layers put in a ``Problem``
(import files, FHIR, the HTTP API, the CLI). Those are public strings too, written out here
rather than imported: the domain sits below every layer that uses them and imports none of
them. ``tests/record/test_problem_text.py`` fails when a code used with ``Problem(`` anywhere
in ``src/bonepath`` has no Chinese or no English description.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, Literal

from bonepath.errors import Problem
from bonepath.record import problems as codes

Lang = Literal["zh", "en"]

MAX_ACCEPTED_SHOWN: Final = 12
"""At most this many accepted values follow a Chinese description (then "等N项")."""
MAX_ACCEPTED_CHARS: Final = 80
"""…and fewer when they would run longer than this many characters."""

DESCRIPTIONS: Final[Mapping[str, Mapping[Lang, str]]] = MappingProxyType(
    {
        # ---- the record parser (bonepath.record.problems; also used by the file readers) --
        codes.MALFORMED_JSON: {
            "zh": "文件内容无法读取（不是有效的JSON或Excel工作簿）",
            "en": "content cannot be read (not valid JSON or not an Excel workbook)",
        },
        codes.WRONG_TYPE: {
            "zh": "数据类型不符（如应为对象或列表处填写了文本）",
            "en": "value of the wrong type (e.g. text where an object or list belongs)",
        },
        codes.MISSING_FIELD: {
            "zh": "缺少必填项",
            "en": "required field missing",
        },
        codes.UNKNOWN_FIELD: {
            "zh": "记录格式或导入模板未定义此字段或工作表",
            "en": "field or sheet not defined by the record format or template",
        },
        codes.UNSUPPORTED_FORMAT: {
            "zh": "不支持的记录格式或版本",
            "en": "unsupported record format or version",
        },
        codes.UNKNOWN_CODE: {
            "zh": "编码不在允许的代码表中",
            "en": "code not in its vocabulary",
        },
        codes.UNKNOWN_UNIT: {
            "zh": "该检验项目不接受此单位",
            "en": "unit not accepted for this test",
        },
        codes.NOT_A_NUMBER: {
            "zh": "应为数值（不能是文本、是/否或空值）",
            "en": "must be a number (not text, true/false or null)",
        },
        codes.NOT_AN_INTEGER: {
            "zh": "应为整数",
            "en": "must be a whole number",
        },
        codes.WRONG_FORMAT: {
            "zh": "格式不正确（如编号长度、TNM分期写法）",
            "en": "wrong format (e.g. id length, TNM notation)",
        },
        codes.INVALID_DATE: {
            "zh": "日期无效，应为YYYY-MM-DD格式的真实日期",
            "en": "not a real date in YYYY-MM-DD form",
        },
        codes.FUTURE_DATE: {
            "zh": "日期晚于今天",
            "en": "date is after today",
        },
        codes.BEFORE_BIRTH: {
            "zh": "日期早于出生日期",
            "en": "date is before the date of birth",
        },
        codes.IMPLAUSIBLE_VALUE: {
            "zh": "数值超出临床合理范围，请核对数值及单位",
            "en": "value outside the clinically plausible range; check value and unit",
        },
        codes.NOT_POSITIVE: {
            "zh": "测量值必须大于0",
            "en": "measured value must be greater than 0",
        },
        codes.OUT_OF_RANGE: {
            "zh": "数值超出允许范围",
            "en": "value outside the allowed range",
        },
        codes.CONTRADICTION: {
            "zh": "与其他字段或行相互矛盾",
            "en": "contradicts another field or row",
        },
        codes.CONTROL_CHARACTER: {
            "zh": "含控制字符：文本含U+0000，或编号含换行、制表等控制字符",
            "en": "control character: U+0000 in text, or a line break or tab in an id",
        },
        codes.TOO_DEEP: {
            "zh": "对象和列表嵌套层数过多，不是有效的病历记录",
            "en": "objects and lists nested too deeply to be a patient record",
        },
        codes.TOO_LARGE: {
            "zh": "单条记录过大，请按每位患者一条记录拆分",
            "en": "record too large; split the input into one record per patient",
        },
        # ---- dose safety before saving (web forms and API, issue 15 item 4) ---------------
        "DOSE_ABOVE_LABEL": {
            "zh": "剂量超过说明书单次最大剂量，不能保存（不可越过）",
            "en": "dose above the label's single maximum; cannot be saved (no override)",
        },
        "WRONG_ROUTE": {
            "zh": "给药途径与药物不符（地舒单抗皮下注射，双膦酸盐静脉滴注）",
            "en": "route does not fit the drug (denosumab SC, bisphosphonates IV)",
        },
        "DUPLICATE_DOSE": {
            "zh": "同一天已记录过该药物的一次给药，请勿重复录入",
            "en": "a dose of this drug is already recorded on that day",
        },
        # ---- correcting and voiding entries (web forms and API, issue 15 item 3) ----------
        "RECORD_CHANGED": {
            "zh": "该患者记录在您打开页面后已被他人修改，未保存",
            "en": "the record was changed by someone else since you opened it; not saved",
        },
        "ENTRY_NOT_FOUND": {
            "zh": "要更正或作废的记录条目已不存在（可能已被更正或作废）",
            "en": "the entry to correct or void is no longer there (corrected or voided already?)",
        },
        "NOT_AUTHOR": {
            "zh": "只有该条目的录入者或临床医生可以更正或作废它",
            "en": "only the entry's author or a clinician may correct or void it",
        },
        "REASON_REQUIRED": {
            "zh": "请填写更正或作废的原因",
            "en": "a reason is required to correct or void an entry",
        },
        # ---- the regional MDT network (issue 16 item 4; api/network_service) ------------------
        "REQUIRED": {
            "zh": "此项必填",
            "en": "this field is required",
        },
        "INVALID_LINK": {
            "zh": "会议链接须为 http(s) 地址",
            "en": "a meeting link is an http(s) address",
        },
        "INPUT": {
            "zh": "输入无法读取，请检查后重试",
            "en": "the input could not be read; check it and try again",
        },
        # ---- the MDT module (issue 16; bonepath.mdt, api/mdt_service) -----------------------
        "MDT_BAD_TRANSITION": {
            "zh": "MDT病例当前状态不能转到该状态",
            "en": "the MDT case cannot move to that state from where it is",
        },
        "MDT_REASON_REQUIRED": {
            "zh": "撤回MDT病例须填写原因",
            "en": "withdrawing an MDT case needs a reason",
        },
        "MDT_NO_DECISION": {
            "zh": "请至少选择一项结构化决定",
            "en": "choose at least one structured decision",
        },
        "MDT_CONFLICTING_DECISIONS": {
            "zh": "所选决定相互矛盾（如同时确诊与排除骨转移），请只选其一",
            "en": "the decisions contradict each other (e.g. confirmed and excluded); choose one",
        },
        "MDT_CASE_CHANGED": {
            "zh": "该MDT病例刚被他人修改，未保存",
            "en": "the MDT case was just changed by someone else; not saved",
        },
        "MDT_NO_TRIGGER": {
            "zh": "该患者今日未触发MDT-01，无法从提示创建病例（可手工创建）",
            "en": "MDT-01 does not fire for this patient today (create the case by hand)",
        },
        "MDT_CASE_EXISTS": {
            "zh": "该患者已有进行中的MDT病例",
            "en": "the patient already has an MDT case in progress",
        },
        "MDT_DEADLINE_AFTER_MEETING": {
            "zh": "提交截止日期不能晚于会议日期",
            "en": "the submission deadline falls after the meeting",
        },
        "MDT_MEETING_IN_PAST": {
            "zh": "新会议日期不能早于今天",
            "en": "a new meeting cannot be dated in the past",
        },
        "MDT_MEETING_CLOSED": {
            "zh": "该会议已召开或已取消，不能再加入病例",
            "en": "the meeting was held or cancelled; no more cases can be added",
        },
        "MDT_AFTER_DEADLINE": {
            "zh": "已过该会议的病例提交截止日期",
            "en": "the meeting's case-submission deadline has passed",
        },
        "MDT_UNKNOWN_USER": {
            "zh": "所选账号不属于召开会议的医院",
            "en": "the account chosen is not one of the meeting's hospital",
        },
        "MDT_WRONG_MEETING": {
            "zh": "该会议不属于病例所在医院（或转诊的区域中心）",
            "en": "the meeting belongs to another hospital than the case (or its centre)",
        },
        "MDT_NOT_DISCUSSED": {
            "zh": "病例尚未在达到法定人数的会议上讨论，请先登记参会情况",
            "en": "the case has not been discussed with a quorum; record the attendance first",
        },
        "MDT_TASK_DONE": {
            "zh": "该任务已完成",
            "en": "the task is done already",
        },
        # ---- tables read by the templates and column mappings (bonepath.interop) ----------
        "UNKNOWN_PATIENT": {
            "zh": "该行的患者在患者表中没有对应行",
            "en": "the row's patient has no row in the patients sheet",
        },
        "AMBIGUOUS_VALUE": {
            "zh": "取值有歧义，无法确定含义（如“3,0”、日/月先后不明的日期、“<5”）",
            "en": "ambiguous value (e.g. '3,0', a day-or-month-first date, '<5')",
        },
        "WRONG_PRODUCT": {
            "zh": "该药品不是骨转移用药方案（如骨质疏松用的地舒单抗60 mg、唑来膦酸5 mg）",
            "en": "a product that is not the bone-metastasis regimen (e.g. osteoporosis doses)",
        },
        "WRONG_TEST": {
            "zh": "该检验项目不是记录所指的项目（如离子钙、尿钙不是血清总钙）",
            "en": "not the test the record means (e.g. ionized or urine calcium)",
        },
        "UNKNOWN_COLUMN": {
            "zh": "列映射未说明此列：请在映射中指定其去向，或列入ignore",
            "en": "column not in the column mapping: map it or list it under ignore",
        },
        # ---- FHIR import (bonepath.interop.fhir) --------------------------------------------
        "FHIR_MALFORMED": {
            "zh": "不是有效的FHIR R4资源",
            "en": "not a valid FHIR R4 resource",
        },
        "FHIR_UNMAPPED": {
            "zh": "FHIR数据元素无法转换为病历记录（如单位、不完整日期、性别）",
            "en": "FHIR element cannot be mapped to the record (unit, partial date, gender)",
        },
        "FHIR_TRANSACTION_REFUSED": {
            "zh": "FHIR事务包中有条目失败，整个事务被拒绝",
            "en": "FHIR transaction Bundle refused whole: some entries failed",
        },
        # ---- the HTTP API and the pages (bonepath.api, bonepath.web) ------------------------
        "INVALID_INPUT": {
            "zh": "输入无效，已被拒绝",
            "en": "input invalid and refused",
        },
        "UNSUPPORTED_FILE": {
            "zh": "不是可导入的文件类型",
            "en": "not a file type that can be imported",
        },
        "NO_FILE": {
            "zh": "未选择要导入的文件",
            "en": "no file chosen to import",
        },
        "BAD_MAPPING": {
            "zh": "列映射文件无法使用",
            "en": "the column mapping cannot be used",
        },
        "BAD_ARCHIVE": {
            "zh": "压缩包无法读取或内容不符合要求",
            "en": "the zip cannot be read or holds the wrong files",
        },
        "INVALID_REQUEST": {
            "zh": "请求参数无效",
            "en": "invalid request parameter",
        },
        "UNKNOWN_EVENT_FAMILY": {
            "zh": "未知的事件类别",
            "en": "unknown event list",
        },
        "NOT_AN_OBJECT": {
            "zh": "事件应为JSON对象",
            "en": "an event must be a JSON object",
        },
        "HOSPITAL_NOT_GRANTED": {
            "zh": "当前用户无权处理该医院的患者",
            "en": "hospital not granted to this user",
        },
        "SAFETY_OVERRIDE_REQUIRED": {
            "zh": "存在用药安全警示，需临床医生填写越过理由",
            "en": "safety warning: a clinician's override reason is required",
        },
        "BODY_TOO_LARGE": {
            "zh": "请求内容超过大小上限",
            "en": "request body larger than the limit",
        },
        "UNAUTHENTICATED": {
            "zh": "未登录，请先登录或提供访问令牌",
            "en": "not logged in: log in or send a bearer token",
        },
        "LOGIN_THROTTLED": {
            "zh": "登录失败次数过多，请15分钟后再试",
            "en": "too many failed logins; try again in 15 minutes",
        },
        "FORBIDDEN": {
            "zh": "无权执行此操作",
            "en": "not permitted",
        },
        "NOT_FOUND": {
            "zh": "未找到（不存在或无权访问）",
            "en": "not found (does not exist or not accessible)",
        },
        "METHOD_NOT_ALLOWED": {
            "zh": "不支持该请求方法",
            "en": "request method not allowed",
        },
        "STORE_UNAVAILABLE": {
            "zh": "数据库暂不可用，请稍后重试",
            "en": "the database is unavailable; try again later",
        },
        "STORE_BUSY": {
            "zh": "数据库正忙于另一项写入（如批量导入），请几秒后重试",
            "en": "the database is busy with another write; retry shortly",
        },
        "CONFIGURATION": {
            "zh": "服务器配置错误，请联系系统管理员",
            "en": "server misconfigured; contact the administrator",
        },
        "INTERNAL": {
            "zh": "系统内部错误，请联系系统管理员",
            "en": "internal error; contact the administrator",
        },
        # ---- the command line (bonepath.cli) ------------------------------------------------
        "INVALID_PATIENT": {
            "zh": "患者标识无效，应为“来源/编号”",
            "en": "patient must be given as SOURCE/ID",
        },
        "INVALID_PERIOD": {
            "zh": "时间段无效：开始日期晚于结束日期",
            "en": "invalid period: start after end",
        },
        "REFUSED": {
            "zh": "输入被拒绝（如地址或关闭理由无效）",
            "en": "refused (e.g. invalid address or closing reason)",
        },
        "UNKNOWN_STATUS": {
            "zh": "未知的任务状态",
            "en": "unknown task status",
        },
        "UNKNOWN_RULE": {
            "zh": "规则库中没有该规则或规则族",
            "en": "no such rule or rule family in the catalogue",
        },
        "UNKNOWN_STRATUM": {
            "zh": "未知的分层维度",
            "en": "unknown stratum",
        },
        "MISSING_OPTION": {
            "zh": "缺少必需的命令选项",
            "en": "required option missing",
        },
        "OUT_REQUIRED": {
            "zh": "需用--out指定输出文件",
            "en": "an output file is required (--out)",
        },
        "BACKEND_UNAVAILABLE": {
            "zh": "所选计算后端不可用于此数据库",
            "en": "chosen evaluation backend not available for this store",
        },
    }
)
"""code → {"zh": …, "en": …}: one short line each, in the register of a hospital system."""

FIXES: Final[Mapping[str, Mapping[Lang, str]]] = MappingProxyType(
    {
        "REQUIRED": {
            "zh": "填写此项后再提交",
            "en": "fill in this field and send again",
        },
        "INVALID_LINK": {
            "zh": "填写以 http:// 或 https:// 开头的会议地址",
            "en": "give a meeting address starting with http:// or https://",
        },
        "INPUT": {
            "zh": "按提示修改输入后重试",
            "en": "change the input as the message says and try again",
        },
        "MDT_BAD_TRANSITION": {
            "zh": "刷新病例页，按当前状态选择下一步",
            "en": "reload the case page and take the next step from its current state",
        },
        "MDT_REASON_REQUIRED": {
            "zh": "在“原因”栏说明撤回原因",
            "en": "say why in the reason field",
        },
        "MDT_NO_DECISION": {
            "zh": "勾选至少一项决定后再保存",
            "en": "tick at least one decision and save again",
        },
        "MDT_CONFLICTING_DECISIONS": {
            "zh": "取消其中一项相互矛盾的决定",
            "en": "untick one of the contradicting decisions",
        },
        "MDT_CASE_CHANGED": {
            "zh": "刷新页面，核对后重新提交",
            "en": "reload the page, check and submit again",
        },
        "MDT_NO_TRIGGER": {
            "zh": "选择“手工创建”并填写讨论问题",
            "en": "create the case by hand with its question",
        },
        "MDT_CASE_EXISTS": {
            "zh": "打开该患者已有的MDT病例继续处理",
            "en": "open the patient's existing MDT case",
        },
        "MDT_DEADLINE_AFTER_MEETING": {
            "zh": "将截止日期改为会议当天或之前",
            "en": "set the deadline on or before the meeting day",
        },
        "MDT_MEETING_IN_PAST": {
            "zh": "选择今天或以后的日期",
            "en": "choose today or a later day",
        },
        "MDT_MEETING_CLOSED": {
            "zh": "选择另一场计划中的会议",
            "en": "choose another planned meeting",
        },
        "MDT_AFTER_DEADLINE": {
            "zh": "选择截止日期未过的下一场会议",
            "en": "choose a later meeting whose deadline has not passed",
        },
        "MDT_UNKNOWN_USER": {
            "zh": "从列表中选择本院账号，院外来宾只填写姓名",
            "en": "choose an account of the hospital from the list; write only the name of a guest",
        },
        "MDT_WRONG_MEETING": {
            "zh": "选择病例所在医院的会议",
            "en": "choose a meeting of the case's hospital",
        },
        "MDT_NOT_DISCUSSED": {
            "zh": "在议程页登记实际参会专科",
            "en": "record who attended on the agenda page",
        },
        "MDT_TASK_DONE": {
            "zh": "刷新任务列表",
            "en": "reload the task list",
        },
        codes.MALFORMED_JSON: {
            "zh": "请上传有效的JSON、NDJSON、CSV或.xlsx文件",
            "en": "upload a valid JSON, NDJSON, CSV or .xlsx file",
        },
        codes.WRONG_TYPE: {
            "zh": "请按记录格式填写该字段的类型",
            "en": "give the field the type record-format.md names",
        },
        codes.MISSING_FIELD: {"zh": "请填写该项", "en": "fill in this field"},
        "DOSE_ABOVE_LABEL": {
            "zh": "核对剂量（唑来膦酸4 mg、地舒单抗120 mg等），按说明书剂量重新录入",
            "en": "check the dose (zoledronic acid 4 mg, denosumab 120 mg, ...) and enter it again",
        },
        "WRONG_ROUTE": {
            "zh": "地舒单抗选“SC”，唑来膦酸等双膦酸盐选“IV”",
            "en": "choose SC for denosumab, IV for zoledronic acid and the other bisphosphonates",
        },
        "DUPLICATE_DOSE": {
            "zh": "核对日期；已记录的给药如有错误，请更正该条记录",
            "en": "check the date; correct the recorded dose if it is wrong",
        },
        "RECORD_CHANGED": {"zh": "请刷新页面，核对后重新提交", "en": "reload the page, check and submit again"},
        "ENTRY_NOT_FOUND": {"zh": "请刷新页面查看当前记录", "en": "reload the page to see the current record"},
        "NOT_AUTHOR": {"zh": "请联系录入者或临床医生", "en": "ask the author or a clinician"},
        "REASON_REQUIRED": {"zh": "在“原因”栏说明为何更正或作废", "en": "say why in the reason field"},
        codes.UNKNOWN_FIELD: {
            "zh": "请删除该列或工作表，或改为模板中的名称",
            "en": "remove the column or sheet, or rename it as in the template",
        },
        codes.UNSUPPORTED_FORMAT: {
            "zh": "请使用bonepath-record/1格式，或以FHIR Bundle单独导入",
            "en": "use format bonepath-record/1, or import FHIR as a Bundle of its own",
        },
        codes.UNKNOWN_CODE: {
            "zh": "请改为可接受的值之一",
            "en": "change it to one of the accepted values",
        },
        codes.UNKNOWN_UNIT: {
            "zh": "请改为该项目可接受的单位，或换算后填写",
            "en": "write one of the test's accepted units, converting the value if needed",
        },
        codes.NOT_A_NUMBER: {
            "zh": "请只填写数字（小数点用“.”）",
            "en": "write the number alone, with a decimal point",
        },
        codes.NOT_AN_INTEGER: {"zh": "请填写整数", "en": "write a whole number"},
        codes.WRONG_FORMAT: {
            "zh": "请按说明的格式填写",
            "en": "write it in the form described",
        },
        codes.INVALID_DATE: {
            "zh": "请填写真实存在的日期，年份在前（如2026-03-05）",
            "en": "write a real date, year first (2026-03-05)",
        },
        codes.FUTURE_DATE: {
            "zh": "请核对日期，未来的事件不能录入",
            "en": "check the date: future events cannot be recorded",
        },
        codes.BEFORE_BIRTH: {
            "zh": "请核对该日期与出生日期",
            "en": "check this date and the date of birth",
        },
        codes.IMPLAUSIBLE_VALUE: {
            "zh": "请核对数值与单位是否对应",
            "en": "check that the value and its unit belong together",
        },
        codes.NOT_POSITIVE: {"zh": "请填写大于0的测量值", "en": "write a measured value above 0"},
        codes.OUT_OF_RANGE: {
            "zh": "请填写允许范围内的数值",
            "en": "write a value inside the allowed range",
        },
        codes.CONTRADICTION: {
            "zh": "请更正相互矛盾的字段或行之一",
            "en": "correct one of the contradicting fields or rows",
        },
        codes.CONTROL_CHARACTER: {
            "zh": "请删除换行、制表等控制字符",
            "en": "remove the line break, tab or other control character",
        },
        codes.TOO_DEEP: {
            "zh": "请按记录格式提交病历记录",
            "en": "send records shaped as record-format.md describes",
        },
        codes.TOO_LARGE: {
            "zh": "请按每位患者一条记录拆分",
            "en": "split the input into one record per patient",
        },
        "UNKNOWN_PATIENT": {
            "zh": "请在患者表中补充该患者，或更正这些行的患者编号/来源系统",
            "en": "add the patient to the patients sheet, or correct these rows' id/source",
        },
        "AMBIGUOUS_VALUE": {
            "zh": "请写成只有一种含义的形式（小数点用“.”，日期年份在前）",
            "en": "write it so it has one meaning (decimal point, year-first dates)",
        },
        "WRONG_PRODUCT": {
            "zh": "请核对医嘱；非骨转移用药不要作为骨改良药物给药导入",
            "en": "check the order; do not import another product as a bone-targeted dose",
        },
        "WRONG_TEST": {
            "zh": "请不要导入此行，或改为记录所指的检验项目",
            "en": "leave the row out, or give the test the record means",
        },
        "UNKNOWN_COLUMN": {
            "zh": "请在列映射[columns]中指定该列，或列入ignore",
            "en": "map the column under [columns] or list it under ignore",
        },
        "FHIR_MALFORMED": {
            "zh": "请导出符合FHIR R4的资源",
            "en": "export resources that are valid FHIR R4",
        },
        "FHIR_UNMAPPED": {
            "zh": "请补全或更正该元素（单位、完整日期、性别）",
            "en": "complete or correct the element (unit, full date, gender)",
        },
        "FHIR_TRANSACTION_REFUSED": {
            "zh": "请更正失败的条目后重新提交整个事务",
            "en": "correct the failed entries and send the transaction again",
        },
        "INVALID_INPUT": {"zh": "请更正输入后重试", "en": "correct the input and try again"},
        "UNSUPPORTED_FILE": {
            "zh": "请上传 .csv、.xlsx、.zip、.json 或 .ndjson 文件（模板或医院导出）",
            "en": "upload a .csv, .xlsx, .zip, .json or .ndjson file",
        },
        "NO_FILE": {"zh": "请先选择文件再预览", "en": "choose the file(s), then preview"},
        "BAD_MAPPING": {
            "zh": "请用 bonepath mapping suggest 生成映射后再上传（UTF-8 的 .toml）",
            "en": "write one with bonepath mapping suggest (UTF-8 .toml)",
        },
        "BAD_ARCHIVE": {
            "zh": "请上传普通zip，内含模板或导出文件，不超过200个",
            "en": "upload a plain zip of at most 200 importable files",
        },
        "INVALID_REQUEST": {
            "zh": "请更正请求参数",
            "en": "correct the request parameter",
        },
        "UNKNOWN_EVENT_FAMILY": {
            "zh": "请使用记录格式中的事件类别",
            "en": "use an event list of record-format.md",
        },
        "NOT_AN_OBJECT": {"zh": "请以JSON对象提交事件", "en": "send the event as a JSON object"},
        "HOSPITAL_NOT_GRANTED": {
            "zh": "请联系管理员授予该医院的权限",
            "en": "ask an administrator to grant the hospital",
        },
        "SAFETY_OVERRIDE_REQUIRED": {
            "zh": "请临床医生填写越过理由",
            "en": "a clinician gives the override reason",
        },
        "BODY_TOO_LARGE": {
            "zh": "请拆分为较小的文件或请求后重试",
            "en": "split it into smaller files or requests",
        },
        "UNAUTHENTICATED": {"zh": "请先登录", "en": "log in first"},
        "LOGIN_THROTTLED": {"zh": "请15分钟后再试", "en": "try again in 15 minutes"},
        "FORBIDDEN": {
            "zh": "请联系管理员分配权限",
            "en": "ask an administrator for the permission",
        },
        "NOT_FOUND": {
            "zh": "请核对编号，或确认有访问权限",
            "en": "check the id, or that it is accessible to you",
        },
        "METHOD_NOT_ALLOWED": {
            "zh": "请使用接口文档中的请求方法",
            "en": "use the method the API documents",
        },
        "STORE_UNAVAILABLE": {"zh": "请稍后重试", "en": "try again later"},
        "STORE_BUSY": {
            "zh": "请几秒后重试；数据量大的医院宜改用PostgreSQL",
            "en": "retry in a few seconds; a large hospital should use PostgreSQL",
        },
        "CONFIGURATION": {"zh": "请联系系统管理员", "en": "contact the administrator"},
        "INTERNAL": {"zh": "请联系系统管理员", "en": "contact the administrator"},
        "INVALID_PATIENT": {
            "zh": "请写成“来源/编号”，或用--source指定来源",
            "en": "write SOURCE/ID, or name the source with --source",
        },
        "INVALID_PERIOD": {
            "zh": "请使开始日期不晚于结束日期",
            "en": "give a start on or before the end",
        },
        "REFUSED": {"zh": "请更正后重试", "en": "correct it and try again"},
        "UNKNOWN_STATUS": {
            "zh": "请使用可接受的任务状态",
            "en": "use one of the accepted task statuses",
        },
        "UNKNOWN_RULE": {
            "zh": "请用bonepath rules查看规则编号",
            "en": "list the rule ids with bonepath rules",
        },
        "UNKNOWN_STRATUM": {
            "zh": "请使用可接受的分层维度",
            "en": "use one of the accepted strata",
        },
        "MISSING_OPTION": {"zh": "请补充该选项", "en": "add the option"},
        "OUT_REQUIRED": {"zh": "请用--out指定输出文件", "en": "name the output file with --out"},
        "BACKEND_UNAVAILABLE": {
            "zh": "请换用其他计算后端",
            "en": "choose another evaluation backend",
        },
    }
)
"""code → {"zh": …, "en": …}: what to change, one short imperative each (every code of
:data:`DESCRIPTIONS` has one)."""

_ACCEPTED_PHRASES_ZH: Final = (
    ("on or before ", "不晚于"),
    ("on or after ", "不早于"),
    ("before ", "早于"),
    ("after ", "晚于"),
)
"""The English words of the date bounds that the checks give as accepted values."""


CHOSEN_ON_THE_PAGE: Final = frozenset({"MDT_NO_DECISION"})
"""Codes whose accepted values are the form's own labelled choices (the MDT decisions'
checkboxes): the pages list no codes after them (``bm_confirmed`` means nothing to a reader);
``Problem.accepted`` still carries them for the API."""


def _accepted(problem: Problem) -> tuple[Any, ...] | None:
    return None if problem.code in CHOSEN_ON_THE_PAGE else problem.accepted


def describe(problem: Problem, lang: Lang) -> str:
    """``problem`` for a reader of ``lang``.

    Chinese: the description of its code, then the accepted values when there are any
    (``该检验项目不接受此单位（可接受：mmol/L、mg/dL）``), at most
    :data:`MAX_ACCEPTED_SHOWN` of them. English, or a code without a description: the
    problem's own English sentence, unchanged.
    """
    text = DESCRIPTIONS.get(problem.code)
    if lang != "zh" or text is None:
        return problem.problem
    return text["zh"] + _accepted_zh(_accepted(problem))


def explain(problem: Problem, lang: Lang, *, specific_zh: str | None = None) -> str:
    """``problem`` with what to change, for a reader of ``lang``.

    Chinese: ``specific_zh`` (a sentence written for this very cell, when the reader has one)
    or the description of the code, the accepted values, then what to change. English: the
    problem's own sentence, the accepted values unless the sentence already names them, then
    what to change. A code without a description: the English sentence as it is.
    """
    fix = FIXES.get(problem.code)
    if lang == "zh":
        if specific_zh:
            return specific_zh + _accepted_zh(_accepted(problem))
        text = describe(problem, "zh")
        return text if fix is None or problem.code not in DESCRIPTIONS else f"{text}；{fix['zh']}"
    text = problem.problem
    accepted = _accepted(problem)
    if accepted and not all(str(value) in text for value in accepted[:3]):
        text += "; accepted: " + ", ".join(str(value) for value in accepted[:12])
        if len(accepted) > 12:
            text += f" … ({len(accepted)} in all)"
    return text if fix is None else f"{text} — {fix['en']}"


def _accepted_zh(accepted: Sequence[Any] | None) -> str:
    if not accepted:
        return ""
    shown: list[str] = []
    length = 0
    for value in accepted[:MAX_ACCEPTED_SHOWN]:
        text = _value_zh(value)
        if shown and length + len(text) > MAX_ACCEPTED_CHARS:
            break
        shown.append(text)
        length += len(text) + 1
    listed = "、".join(shown)
    if len(shown) < len(accepted):
        listed += f"等{len(accepted)}项"
    return f"（可接受：{listed}）"


def _value_zh(value: object) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = str(value)
    for english, chinese in _ACCEPTED_PHRASES_ZH:
        if text.startswith(english):
            return chinese + text[len(english) :]
    return text

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

_ACCEPTED_PHRASES_ZH: Final = (
    ("on or before ", "不晚于"),
    ("on or after ", "不早于"),
    ("before ", "早于"),
    ("after ", "晚于"),
)
"""The English words of the date bounds that the checks give as accepted values."""


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
    return text["zh"] + _accepted_zh(problem.accepted)


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

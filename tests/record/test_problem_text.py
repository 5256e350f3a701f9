"""The bilingual descriptions of problem codes: every code that reaches a user has Chinese and
English, and ``describe`` gives the Chinese line with the accepted values, or the English
sentence unchanged."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import pytest

from bonepath.errors import Problem
from bonepath.record import problems as codes
from bonepath.record.problem_text import (
    DESCRIPTIONS,
    FIXES,
    MAX_ACCEPTED_SHOWN,
    Lang,
    describe,
    explain,
)
from bonepath.vocab import VERTEBRA_LEVELS

from .support import only_problem

SRC = Path(__file__).resolve().parents[2] / "src" / "bonepath"
CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---- every code has both texts ------------------------------------------------------------


def _module_name(path: Path) -> str:
    return ".".join(("bonepath", *path.relative_to(SRC).with_suffix("").parts))


def _code_argument(call: ast.Call) -> ast.expr | None:
    if len(call.args) >= 2:
        return call.args[1]
    return next((k.value for k in call.keywords if k.arg == "code"), None)


def _resolve(node: ast.expr, module: Any, tree: ast.Module) -> set[str]:
    """The code strings an argument can hold: a literal, a constant (``codes.UNKNOWN_UNIT``,
    ``UNMAPPED``) read from the imported module, or the literals assigned to a local name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "code"
        and isinstance(node.value, ast.Name)
        and node.value.id == "exc"
    ):
        from bonepath.errors import INPUT_ERROR_CODES  # an InputError's code

        return set(INPUT_ERROR_CODES)
    if isinstance(node, ast.Attribute) and node.attr == "code" and hasattr(module, "values"):
        from bonepath.interop.values import CELL_REFUSAL_CODES  # a CellRefusal's code

        return set(CELL_REFUSAL_CODES)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        value = getattr(getattr(module, node.value.id, None), node.attr, None)
        return {value} if isinstance(value, str) else set()
    if isinstance(node, ast.Name):
        value = getattr(module, node.id, None)
        if isinstance(value, str):
            return {value}
        assigned = [
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)
        ]
        return {
            c.value
            for value_node in assigned
            for c in ast.walk(value_node)
            if isinstance(c, ast.Constant) and isinstance(c.value, str) and CODE.fullmatch(c.value)
        }
    return set()


def _codes_used_with_problem() -> dict[str, set[str]]:
    """Every ``Problem(...)`` call in src/bonepath → the codes it can carry."""
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "Problem")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "Problem")
            )
        ]
        if not calls:
            continue
        module = importlib.import_module(_module_name(path))
        for call in calls:
            argument = _code_argument(call)
            where = f"{path.relative_to(SRC)}:{call.lineno}"
            found[where] = set() if argument is None else _resolve(argument, module, tree)
    return found


def test_the_source_scan_finds_the_codes_of_every_layer() -> None:
    used = _codes_used_with_problem()
    unresolved = [where for where, found in used.items() if not found]
    assert unresolved == []  # a new kind of code argument: teach _resolve to read it
    assert len(used) > 70
    every = set().union(*used.values())
    assert every >= codes.ALL_CODES
    assert {
        "FHIR_UNMAPPED",  # a module constant (interop/fhir/to_record.py)
        "FHIR_MALFORMED",
        "FHIR_TRANSACTION_REFUSED",
        "HOSPITAL_NOT_GRANTED",  # a literal (api/services.py)
        "FORBIDDEN",  # a local name assigned from a dict (api/errors.py)
        "METHOD_NOT_ALLOWED",
        "OUT_REQUIRED",  # cli
        "BACKEND_UNAVAILABLE",
        "INVALID_INPUT",  # web/pages.py
    } <= every


def test_every_described_code_says_what_to_change_in_both_languages() -> None:
    """Issue 14 item 4: each refusal code has a fix, and ``explain`` gives it after the
    description in Chinese and after the problem's own sentence in English."""
    assert set(FIXES) == set(DESCRIPTIONS)
    for code, fix in FIXES.items():
        assert CJK.search(fix["zh"]) and fix["en"].isascii(), code
    problem = Problem("/sex", "UNKNOWN_CODE", "'x' is not a value of 性别 / sex", ("男 / male",))
    assert (
        explain(problem, "zh")
        == "编码不在允许的代码表中（可接受：男 / male）；请改为可接受的值之一"
    )
    assert explain(problem, "en") == (
        "'x' is not a value of 性别 / sex; accepted: 男 / male — "
        "change it to one of the accepted values"
    )
    listed = Problem("/sex", "UNKNOWN_CODE", "'x' is not accepted; accepted: female, male", ("f",))
    assert explain(listed, "en").count("accepted:") == 1  # said once, not twice


def test_every_code_used_with_problem_has_chinese_and_english() -> None:
    used = set().union(*_codes_used_with_problem().values()) | codes.ALL_CODES
    missing = sorted(code for code in used if code not in DESCRIPTIONS)
    assert missing == []
    for code in used:
        zh, en = DESCRIPTIONS[code]["zh"], DESCRIPTIONS[code]["en"]
        assert CJK.search(zh), code
        assert en.strip() and en.isascii() and not CJK.search(en), code
        assert "\n" not in zh + en and len(zh) <= 40 and len(en) <= 80, code  # one short line


def test_every_record_parser_code_is_described() -> None:
    assert set(DESCRIPTIONS) >= codes.ALL_CODES
    assert DESCRIPTIONS[codes.UNKNOWN_UNIT] == {
        "zh": "该检验项目不接受此单位",
        "en": "unit not accepted for this test",
    }
    assert DESCRIPTIONS[codes.FUTURE_DATE]["zh"] == "日期晚于今天"
    assert DESCRIPTIONS["FHIR_UNMAPPED"]["en"].startswith("FHIR element cannot be mapped")


# ---- describe ------------------------------------------------------------------------------


def _with_lab(data: dict[str, Any], test: str, value: Any, unit: str) -> None:
    data["events"] = {"labs": [{"date": "2026-10-01", "test": test, "value": value, "unit": unit}]}


def test_chinese_is_the_description_with_the_accepted_units(data: dict[str, Any]) -> None:
    _with_lab(data, "calcium", 2.3, "mg%")
    problem = only_problem(data)
    assert (problem.code, problem.accepted) == (codes.UNKNOWN_UNIT, ("mmol/L", "mg/dL"))
    assert describe(problem, "zh") == "该检验项目不接受此单位（可接受：mmol/L、mg/dL）"


def test_english_is_the_problems_own_sentence_unchanged(data: dict[str, Any]) -> None:
    _with_lab(data, "calcium", 2.3, "mg%")
    problem = only_problem(data)
    assert describe(problem, "en") == problem.problem
    assert describe(problem, "en").startswith("unit 'mg%' is not accepted for calcium;")


def test_without_accepted_values_chinese_is_the_description_alone(
    data: dict[str, Any],
) -> None:
    _with_lab(data, "calcium", "2.3", "mmol/L")
    problem = only_problem(data)
    assert (problem.code, problem.accepted) == (codes.NOT_A_NUMBER, None)
    assert describe(problem, "zh") == "应为数值（不能是文本、是/否或空值）"
    assert (
        describe(Problem("/x", codes.NOT_A_NUMBER, "x", ()), "zh")
        == DESCRIPTIONS[codes.NOT_A_NUMBER]["zh"]
    )


def test_date_bounds_in_accepted_values_are_said_in_chinese(data: dict[str, Any]) -> None:
    data["cancer"]["diagnosis_date"] = "2026-12-01"
    problem = only_problem(data)
    assert problem.accepted == ("on or before 2026-11-23",)
    assert describe(problem, "zh") == "日期晚于今天（可接受：不晚于2026-11-23）"
    assert (
        describe(Problem("/d", codes.BEFORE_BIRTH, "x", ("on or after 1958-03-02",)), "zh")
        == "日期早于出生日期（可接受：不早于1958-03-02）"
    )


def test_a_long_accepted_list_is_cut_and_counted() -> None:
    problem = Problem("/bone_metastasis/lesions/0/level", codes.UNKNOWN_CODE, "x", VERTEBRA_LEVELS)
    assert len(VERTEBRA_LEVELS) == 29
    shown = "、".join(VERTEBRA_LEVELS[:MAX_ACCEPTED_SHOWN])
    assert describe(problem, "zh") == f"编码不在允许的代码表中（可接受：{shown}等29项）"


def test_long_accepted_values_are_cut_by_length() -> None:
    fields = tuple(f"{letter * 30}" for letter in "abcde")
    text = describe(Problem("/x", codes.UNKNOWN_FIELD, "x", fields), "zh")
    assert text == f"记录格式或导入模板未定义此字段或工作表（可接受：{'a' * 30}、{'b' * 30}等5项）"


def test_a_single_long_accepted_value_is_still_shown() -> None:
    long = "x" * 100
    assert describe(Problem("/x", codes.WRONG_FORMAT, "x", (long,)), "zh").endswith(
        f"（可接受：{long}）"
    )


def test_numbers_and_json_literals_are_shown_as_written() -> None:
    pain = Problem("/events/symptoms/0/bone_pain", codes.IMPLAUSIBLE_VALUE, "x", tuple(range(11)))
    assert describe(pain, "zh") == (
        "数值超出临床合理范围，请核对数值及单位（可接受：0、1、2、3、4、5、6、7、8、9、10）"
    )
    flags = Problem("/flag", codes.UNKNOWN_CODE, "x", (True, False, None))
    assert describe(flags, "zh") == "编码不在允许的代码表中（可接受：true、false、null）"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_unknown_code_falls_back_to_the_english_sentence(lang: Lang) -> None:
    problem = Problem("", "HTTP_418", "I'm a teapot", ("tea",))
    assert describe(problem, lang) == "I'm a teapot"

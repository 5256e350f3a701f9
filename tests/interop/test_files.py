"""Reading record files: locations, decoding problems, and which paths are importable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bonepath.errors import InputError, NotFound
from bonepath.interop.files import find_inputs, read_json, read_ndjson
from bonepath.interop.raw import Origin, RawRecord
from bonepath.record import problems as codes


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_ndjson_locations_are_line_numbers_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = _write_lines(
        tmp_path / "c.ndjson",
        [json.dumps({"id": "A"}), "", "   ", json.dumps({"id": "B"}), '{"id": "C",'],
    )

    raws = list(read_ndjson(path))

    assert [raw.location for raw in raws] == [f"{path}:1", f"{path}:4", f"{path}:5"]
    assert [raw.data for raw in raws[:2]] == [{"id": "A"}, {"id": "B"}]
    assert raws[2].data is None
    assert [(p.path, p.code) for p in raws[2].problems] == [("", codes.MALFORMED_JSON)]
    assert raws[-1].position == path.stat().st_size
    assert raws[0].position < raws[1].position


def test_ndjson_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "A"}).encode() + b"\r\n")
    assert [raw.data for raw in read_ndjson(path)] == [{"id": "A"}]


def test_json_file_with_one_record_or_a_list(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"id": "A"}), encoding="utf-8")
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"id": "A"}, {"id": "B"}]), encoding="utf-8")

    assert [(r.location, r.data) for r in read_json(one)] == [(str(one), {"id": "A"})]
    assert [(r.location, r.data["id"]) for r in read_json(many)] == [
        (f"{many}[0]", "A"),
        (f"{many}[1]", "B"),
    ]


def test_malformed_json_file_is_one_refusal(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[{"id": "A"}, ', encoding="utf-8")
    (raw,) = read_json(path)
    assert raw.location == str(path)
    assert raw.problems[0].code == codes.MALFORMED_JSON


def test_fhir_resource_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "entry": []}), encoding="utf-8")
    (raw,) = read_json(path)
    (problem,) = raw.problems
    assert (problem.path, problem.code) == ("/resourceType", codes.UNSUPPORTED_FORMAT)
    assert "FHIR Bundle" in problem.problem


def test_find_inputs_expands_directories_and_groups_csv_files(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}", encoding="utf-8")
    (tmp_path / "b.ndjson").write_text("", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored in a directory", encoding="utf-8")
    (tmp_path / "patients.csv").write_text("id\n", encoding="utf-8")
    (tmp_path / "labs.csv").write_text("id\n", encoding="utf-8")

    inputs = find_inputs([tmp_path])

    assert [(i.kind, i.path.name) for i in inputs] == [
        ("json", "a.json"),
        ("ndjson", "b.ndjson"),
        ("csv", tmp_path.name),
    ]
    assert {m.name for m in inputs[-1].members} == {"patients.csv", "labs.csv"}
    named = find_inputs([tmp_path / "patients.csv", tmp_path / "labs.csv"])
    assert [(i.kind, i.path) for i in named] == [("csv", tmp_path)]


def test_find_inputs_refuses_missing_and_unsupported_paths(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        find_inputs([tmp_path / "missing.ndjson"])
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not an importable file"):
        find_inputs([tmp_path / "notes.txt"])


def test_origin_of_a_path_is_its_own_or_its_nearest_parents() -> None:
    raw = RawRecord(
        "patients.csv:2",
        {},
        origins={
            "": Origin("patients.csv:2"),
            "/events/labs/1": Origin("labs.csv:3"),
            "/events/labs/1/unit": Origin("labs.csv:3", "单位 / unit"),
        },
    )
    assert raw.origin_of("/events/labs/1/unit") == Origin("labs.csv:3", "单位 / unit")
    assert raw.origin_of("/events/labs/1/value") == Origin("labs.csv:3")
    assert raw.origin_of("/sex") == Origin("patients.csv:2")
    assert RawRecord("x", {}).origin_of("/sex") is None


def test_a_list_with_a_record_too_deep_to_decode_keeps_its_other_records(tmp_path: Path) -> None:
    """Issue 13 item 5: items are cut by bracket depth; brackets and quotes inside strings
    do not count, and the too-deep item alone is refused."""
    deep = '{"id": "D", "x": ' + "[" * 3000 + "]" * 3000 + "}"
    first = '{"id": "A", "note": "a ] } , \\" [ {"}'
    path = tmp_path / "list.json"
    path.write_text(f'[ {first},\n{deep} ,{{"id": "B"}} ]\n', encoding="utf-8")
    raws = list(read_json(path))
    assert [raw.location for raw in raws] == [f"{path}[0]", f"{path}[1]", f"{path}[2]"]
    assert raws[0].data == {"id": "A", "note": 'a ] } , " [ {'} and raws[2].data == {"id": "B"}
    assert [p.code for p in raws[1].problems] == [codes.TOO_DEEP]


def test_a_list_broken_elsewhere_is_still_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text('[{"id": "A"}, {"id": ' + "[" * 3000 + "]", encoding="utf-8")
    (raw,) = read_json(path)
    assert raw.location == str(path) and raw.problems[0].code == codes.TOO_DEEP

"""`bonepath imaging candidates PATH`: the candidate-lesion aid on one CT volume (docs/imaging.md).

PATH is a NIfTI file (.nii/.nii.gz) or DICOM file(s)/folder. Prints the aid's JSON (default) or a
table in ``--lang``, always headed by 未经验证的辅助提示 / unvalidated aid. ``--key-images DIR``
writes one PNG per candidate (axial slice, bone window, outlined). Hospital plug-ins:
``--plugin module:factory`` (repeatable) with ``--weights DIR``, or BONEPATH_AID_PLUGINS /
BONEPATH_AID_WEIGHTS. Exit codes: 0 done; 2 refused (``{"errors": [...]}`` on stdout:
UNREADABLE_FILE, NOT_NIFTI, NOT_A_VOLUME, NOT_DICOM…, plug-in codes); 1 any other failure.
Nothing is written to the record.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from bonepath.cli.exit_codes import REFUSED

__all__ = ["candidates_cmd"]


class OutputFormat(StrEnum):
    JSON = "json"
    TABLE = "table"


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


_LABELS = {
    "zh": {
        "id": "编号",
        "kind": "类型",
        "slice": "层面",
        "region": "部位",
        "side": "侧别",
        "volume": "体积(mm³)",
        "mean": "平均CT值(HU)",
        "contrast": "与周围骨差值(HU)",
        "none": "未发现候选病灶（这不排除骨转移）",
        "lytic": "溶骨性候选",
        "blastic": "成骨性候选",
        "vertebral_body": "椎体",
        "vertebral_posterior_elements": "椎体附件",
        "rib_or_small_bone": "肋骨或小骨",
        "sternum": "胸骨",
        "other_bone": "其他骨",
        "left": "左",
        "right": "右",
        "plugin": "医院模型",
        "accuracy": "实测准确性（仅合成病灶、单例CT，见bench/README.md）：椎体内≥10 mm溶骨性病灶34/36、"
        "成骨性（+300 HU以上）24/24检出；5 mm病灶基本不能检出；每例CT有18–63个假候选。",
    },
    "en": {
        "id": "id",
        "kind": "kind",
        "slice": "slice",
        "region": "region",
        "side": "side",
        "volume": "volume (mm³)",
        "mean": "mean HU",
        "contrast": "vs bone (HU)",
        "none": "No candidate found (this does not exclude bone metastasis)",
        "lytic": "lytic candidate",
        "blastic": "blastic candidate",
        "vertebral_body": "vertebral body",
        "vertebral_posterior_elements": "posterior elements",
        "rib_or_small_bone": "rib or small bone",
        "sternum": "sternum",
        "other_bone": "other bone",
        "left": "left",
        "right": "right",
        "plugin": "hospital model",
        "accuracy": "Measured only on synthetic lesions in one CT (bench/README.md): vertebral "
        "lytic lesions of 10 mm or more 34/36, blastic (+300 HU or more) 24/24 found; 5 mm "
        "lesions mostly missed; 18-63 false candidates per CT.",
    },
}


def _refuse(code: str, problem: str) -> None:
    body = {"errors": [{"path": "", "code": code, "problem": problem}]}
    sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    raise typer.Exit(REFUSED)


def candidates_cmd(
    path: Annotated[str, typer.Argument(help="A NIfTI file, or DICOM file(s) or folder.")],
    output: Annotated[
        OutputFormat, typer.Option("--format", help="json or table.")
    ] = OutputFormat.JSON,
    lang: Annotated[Language, typer.Option("--lang", help="zh or en (table).")] = Language.ZH,
    key_images: Annotated[
        Path | None, typer.Option("--key-images", help="Write one PNG per candidate here.")
    ] = None,
    plugin: Annotated[
        list[str] | None, typer.Option("--plugin", help="A hospital model, module:factory.")
    ] = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", help="The weights folder the hospital provisions.")
    ] = None,
) -> None:
    """Candidate bone lesions on one CT (未经验证的辅助提示 — an unvalidated aid)."""
    from bonepath.imaging.aid import analyse_path
    from bonepath.imaging.aid_plugins import AidPlugin, PluginError, load_plugin, plugins_from_env

    plugins: list[AidPlugin] = []
    try:
        if plugin:
            if weights is None:
                _refuse("WEIGHTS_MISSING", "--plugin needs --weights DIR / 需要 --weights 目录")
            plugins = [load_plugin(spec, weights or Path()) for spec in plugin]
        else:
            plugins = plugins_from_env()
    except PluginError as exc:
        _refuse(exc.code, exc.detail)
    if not Path(path).exists():
        _refuse("UNREADABLE_FILE", f"无法读取 / cannot read {path}")
    try:
        report = analyse_path(path, key_images=key_images is not None, plugins=plugins)
    except (ValueError, OSError) as exc:
        code = getattr(exc, "code", None) or str(exc).split(":", 1)[0]
        if not code.isupper():
            code = "NOT_A_VOLUME"
        _refuse(code, f"{path}: {getattr(exc, 'detail', exc)}")
    paths: dict[int, str] = {}
    if key_images is not None:
        key_images.mkdir(parents=True, exist_ok=True)
        for i, png in report.key_images.items():
            target = key_images / f"candidate_C{i + 1}.png"
            target.write_bytes(png)
            paths[i] = str(target)
    body = report.to_json(paths)
    if output is OutputFormat.JSON:
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    labels = _LABELS[lang.value]
    console = Console(soft_wrap=False)
    console.print(f"[bold]{body['aid']['notice'][lang.value]}[/]")
    console.print(f"[dim]{labels['accuracy']}[/]")
    if not body["candidates"]:
        console.print(labels["none"])
    else:
        table = Table(expand=True)
        for key in ("id", "kind", "slice", "region", "side", "volume", "mean", "contrast"):
            table.add_column(labels[key])
        for c in body["candidates"]:
            table.add_row(
                c["id"],
                labels.get(c["kind"], c["kind"]),
                str(c["slice"]),
                labels.get(c["region"], c["region"]),
                labels.get(c["side"], "—") if c["side"] else "—",
                f"{c['volume_mm3']:.0f}",
                f"{c['hu']['mean']:.0f}",
                f"{c['contrast_hu']:+.0f}",
            )
        console.print(table)
    for p in body["plugins"]:
        console.print(
            f"{labels['plugin']}: {p['name']} {p['version']} — {p['validation']['statement']}: "
            f"{len(p['findings'])}" + (f" ({p['error']})" if p["error"] else "")
        )

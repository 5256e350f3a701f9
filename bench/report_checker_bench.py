"""CT report checker: precision/recall per label on the labelled corpus, and throughput.

    .venv/bin/python bench/report_checker_bench.py [--split dev|held_out|all] [--seconds 3]

Reads tests/imaging/corpus.jsonl (one report per line with the expected ``bone_window`` and
findings, each ``site, level, side, finding, certainty``; ``split`` = ``dev`` or
``held_out``). Labels: ``bone_window=described`` (per report); per finding, each value of
``finding``, ``certainty`` (as the pair finding+certainty), ``site``, ``level`` (non-null) and
``side`` (non-null) and the exact finding (all five fields): matched as multisets within a
report (a predicted finding counts once). Throughput: reports per second over the whole corpus,
repeated for ``--seconds``, one process, one core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from bonepath.imaging.report import check_report

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "imaging" / "corpus.jsonl"
FIELDS = ("site", "level", "side", "finding", "certainty")


def load_corpus(split: str = "all") -> list[dict[str, Any]]:
    items = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    return [i for i in items if split == "all" or i["split"] == split]


Key = Callable[[Mapping[str, Any]], tuple[str, Any] | None]


def _keys() -> dict[str, Key]:
    return {
        "finding": lambda f: ("finding=" + f["finding"], None),
        "certainty": lambda f: ("certainty=" + f["certainty"], f["finding"]),
        "site": lambda f: ("site=" + f["site"], None),
        "level": lambda f: ("level", f["level"]) if f["level"] else None,
        "side": lambda f: ("side", f["side"]) if f["side"] else None,
        "exact": lambda f: ("finding (all 5 fields)", tuple(f[k] for k in FIELDS)),
    }


def score(items: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """True/false positives and false negatives per label over ``items``."""
    counts: dict[str, Counter[str]] = {}

    def add(label: str, tp: int, fp: int, fn: int) -> None:
        c = counts.setdefault(label, Counter())
        c["tp"] += tp
        c["fp"] += fp
        c["fn"] += fn

    for item in items:
        got = check_report(item["text"]).to_json()
        gold_d = item["bone_window"] == "described"
        pred_d = got["bone_window"] == "described"
        add(
            "bone_window=described",
            int(gold_d and pred_d),
            int(pred_d and not gold_d),
            int(gold_d and not pred_d),
        )
        add(
            "bone_window=not_described",
            int(not gold_d and not pred_d),
            int(gold_d and not pred_d),
            int(pred_d and not gold_d),
        )
        for key in _keys().values():
            gold = Counter(k for k in map(key, item["findings"]) if k is not None)
            pred = Counter(k for k in map(key, got["findings"]) if k is not None)
            for k in gold.keys() | pred.keys():
                hit = min(gold[k], pred[k])
                add(k[0], hit, pred[k] - hit, gold[k] - hit)
    return {label: dict(c) for label, c in counts.items()}


def pr(c: Mapping[str, int]) -> tuple[float | None, float | None]:
    tp, fp, fn = c.get("tp", 0), c.get("fp", 0), c.get("fn", 0)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return precision, recall


def throughput(texts: list[str], seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in texts:
            check_report(t)
        n += len(texts)
    return n / (time.perf_counter() - start)


def _fmt(x: float | None) -> str:
    return "  —  " if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "held_out", "all"), default=None)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    splits = [args.split] if args.split else ["dev", "held_out"]
    for split in splits:
        items = load_corpus(split)
        from bonepath.imaging.report import split_sentences

        n_sent = sum(len(split_sentences(i["text"])) for i in items)
        n_find = sum(len(i["findings"]) for i in items)
        print(f"\n== {split}: {len(items)} reports, {n_sent} sentences, {n_find} labelled findings")
        print(f"{'label':34} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
        for label, c in sorted(score(items).items()):
            p, r = pr(c)
            print(
                f"{label:34} {c.get('tp', 0):>4} {c.get('fp', 0):>4} {c.get('fn', 0):>4} {_fmt(p):>9} {_fmt(r):>7}"
            )
    texts = [i["text"] for i in load_corpus("all")]
    rate = throughput(texts, args.seconds)
    print(f"\nthroughput: {rate:,.0f} reports/s (corpus of {len(texts)} reports, one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Mapping accuracy on labelled price lists: header row, code, name and price decisions.

Usage: python scripts/mapping_accuracy.py [LABELS.json ...]
(default: the shared real lists in tests/data/real and the hard cases in samples/hard).
Each file is mapped exactly as `loader preview --json` maps it; every decision is compared with
its label and misses are printed. Currency is reported apart (it is not one of the four).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from loader.preview import preview
from loader.sources import file_source_type
from loader.task import ParseTask

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETS = [
    ROOT / "tests" / "data" / "real" / "labels.json",
    ROOT / "samples" / "hard" / "labels.json",
]
ROLES = {"sku": "supplier_sku", "name": "name", "price": "price"}


def decide(path: Path) -> dict:
    task = ParseTask.parse(
        {
            "task_id": "accuracy",
            "supplier": {"code": "accuracy"},
            "source": {"type": file_source_type(path.name), "path": str(path)},
        }
    )
    return preview(task)


def score_set(labels_path: Path) -> tuple[int, int, int, int]:
    labels = json.loads(labels_path.read_text(encoding="utf-8"))
    right = total = cur_right = cur_total = 0
    for label in labels:
        decision = decide(labels_path.parent / label["file"])
        checks = [("header_row", decision["header_row"], label["header_row"])]
        for role, field in ROLES.items():
            checks.append((role, decision["fields"][field], label["column_index"].get(role)))
        misses = [f"{k}: got {g}, expected {e}" for k, g, e in checks if g != e]
        right += len(checks) - len(misses)
        total += len(checks)
        expected_currency = label.get("currency") or label.get("columns", {}).get("currency")
        stated = "inferred" not in label.get("notes", "").lower() or label.get("columns") is None
        if expected_currency and stated:
            cur_total += 1
            cur_right += decision["currency"] == expected_currency
        state = "ok  " if not misses else "MISS"
        review = " (needs review)" if decision["status"] == "needs_review" else ""
        print(f"  {state} {label['file']}{review} {'; '.join(misses)}")
    return right, total, cur_right, cur_total


def main(paths: list[Path]) -> int:
    grand = [0, 0]
    for path in paths:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        right, total, cur_right, cur_total = score_set(path)
        grand[0] += right
        grand[1] += total
        print(f"  decisions right: {right}/{total} = {100 * right / total:.1f}%"
              f"; stated currency right: {cur_right}/{cur_total}")  # fmt: skip
    print(f"all: {grand[0]}/{grand[1]} = {100 * grand[0] / grand[1]:.1f}%")
    return 0 if grand[0] == grand[1] else 1


if __name__ == "__main__":
    sys.exit(main([Path(p).resolve() for p in sys.argv[1:]] or DEFAULT_SETS))

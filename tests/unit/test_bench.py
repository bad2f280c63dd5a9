"""make bench's regression check (scripts/bench.py): what it calls a regression."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

from loader.config import PROJECT_ROOT
from loader.mapping import map_sheet
from loader.sources import get_source
from loader.sources.csv_file import CsvConfig
from loader.sources.xlsx_file import XlsxConfig

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
import bench  # noqa: E402

RECORDED: dict[str, Any] = {
    "runs": [{"rows": 1000, "format": "csv", "ratio_to_copy_floor": 100.0, "peak_rss_mb": 400}],
    "copy_floor_items_per_s": 1_000_000,
    "small_list_latency_s_p50": 1.0,
    "lists_per_s": {"2": 1.0},
}


def run(**changes: Any) -> dict[str, Any]:
    report = copy.deepcopy(RECORDED)
    for key, value in changes.items():
        if key in ("ratio_to_copy_floor", "peak_rss_mb"):
            report["runs"][0][key] = value
        else:
            report[key] = value
    return report


def test_the_same_run_is_no_regression() -> None:
    assert bench.compare(run(), RECORDED) == []


def test_further_from_the_copy_floor_or_more_memory_is_a_regression() -> None:
    assert bench.compare(run(ratio_to_copy_floor=130.0), RECORDED) != []
    assert bench.compare(run(peak_rss_mb=520), RECORDED) != []


def test_slower_small_lists_and_throughput_count_against_the_machine_speed() -> None:
    slower = {"small_list_latency_s_p50": 1.5, "lists_per_s": {"2": 0.67}}
    # The same machine: a regression, both of them.
    assert len(bench.compare(run(**slower), RECORDED)) == 2
    # A machine whose COPY floor is 1.5x slower: as expected, no regression.
    assert bench.compare(run(**slower, copy_floor_items_per_s=666_667), RECORDED) == []
    # ...but twice as slow again on that machine is one.
    worse = {"small_list_latency_s_p50": 3.0, "lists_per_s": {"2": 0.33}}
    assert len(bench.compare(run(**worse, copy_floor_items_per_s=666_667), RECORDED)) == 2


def test_the_bench_writes_its_xlsx_list_as_the_same_list_as_its_csv(tmp_path: Path) -> None:
    """make bench writes its XLSX lists' sheet XML itself (openpyxl took 2 minutes of the run
    for the 1M-row list). The project's own reader must find the same list in both files."""
    csv_path = bench.make_csv(tmp_path / "list.csv", 300)
    xlsx_path = bench.make_xlsx(tmp_path / "list.xlsx", 300)
    csv_list = map_sheet(next(iter(get_source("csv").read(CsvConfig(path=csv_path)))))
    xlsx_list = map_sheet(next(iter(get_source("xlsx").read(XlsxConfig(path=xlsx_path)))))
    assert xlsx_list.mapping.header_row == csv_list.mapping.header_row == 3
    assert xlsx_list.mapping.as_dict()["columns"] == csv_list.mapping.as_dict()["columns"]

    def as_text(value: object) -> object:  # a number the sheet typed is what the CSV spells
        return str(int(value)) if isinstance(value, int | float) else value

    xlsx_rows = [
        (n, {k: as_text(v) for k, v in cells.items()}) for n, cells in xlsx_list.iter_rows()
    ]
    assert xlsx_rows == list(csv_list.iter_rows())
    assert len(xlsx_rows) == 300

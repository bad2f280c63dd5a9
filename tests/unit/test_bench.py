"""make bench's regression check (scripts/bench.py): what it calls a regression."""

from __future__ import annotations

import copy
import sys
from typing import Any

from loader.config import PROJECT_ROOT

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

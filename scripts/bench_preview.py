"""Benchmark: `loader preview` on a 100,000-row price list (CSV and XLSX).

Usage: python scripts/bench_preview.py [ROWS]   (`make bench` is the end-to-end benchmark)
Prints, per format: the preview time in this process (median of 5), the time of the whole
`loader preview --json` command (one process, Python start-up and imports included), and for
comparison the time to read every row, which is what preview avoids.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from loader.preview import preview
from loader.sources import file_source_type, get_source
from loader.task import ParseTask

HEADER = ["Артикул", "Наименование", "Бренд", "Цена, руб.", "Остаток", "Штрихкод"]


def row(i: int) -> list[object]:
    return [f"A-{i:06d}", f"Саморез по дереву 3,5х{i % 90 + 10} оцинк.", "Крепко",
            f"{(i % 997) + 0.5:.2f}", i % 50, f"46{i:011d}"]  # fmt: skip


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Прайс-лист ООО «Крепко»\n\n" + ";".join(HEADER) + "\n")
        for i in range(rows):
            fh.write(";".join(str(v) for v in row(i)) + "\n")


def make_xlsx(path: Path, rows: int) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Прайс")
    ws.append(["Прайс-лист ООО «Крепко»"])
    ws.append([])
    ws.append(HEADER)
    for i in range(rows):
        ws.append(row(i))
    wb.save(path)


def task(path: Path) -> ParseTask:
    return ParseTask.parse(
        {
            "task_id": "bench",
            "supplier": {"code": "bench"},
            "source": {"type": file_source_type(path.name), "path": str(path)},
        }
    )


def timed(func: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in (("list.csv", make_csv), ("list.xlsx", make_xlsx)):
            path = Path(tmp) / name
            make(path, rows)
            t = task(path)
            decision = preview(t)
            assert decision["fields"] == {"supplier_sku": 0, "name": 1, "price": 3}, decision
            in_process = timed(lambda t=t: preview(t))
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "loader", "preview", str(path), "--json"],
                check=True,
                capture_output=True,
            )
            command = time.perf_counter() - start
            full = timed(lambda t=t: list(get_source(t.source.type).read(t.source)), repeat=1)
            size_mb = path.stat().st_size / 1e6
            print(
                f"{name}: {rows} rows, {size_mb:.1f} MB; preview {in_process * 1000:.0f} ms"
                f" in process, {command:.2f} s as a command; reading every row takes"
                f" {full * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)

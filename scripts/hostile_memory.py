"""Peak memory of reading hostile files: a zip bomb XLSX and a CSV with a 10 MB line.

Usage: python scripts/hostile_memory.py
Each file is read as the worker reads it (source plugin, then the limit checks), in a fresh
process, and the peak resident memory of that process is printed with the outcome. A baseline
process that only imports the loader is measured the same way.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook

READ = """
import resource, sys
from pathlib import Path
from loader.exceptions import LoaderError
from loader.sources import get_source, limits
from loader.task import ParseTask
path = Path(sys.argv[1])
outcome = "baseline"
if path.name != "-":
    kind = "xlsx" if path.suffix == ".xlsx" else "csv"
    task = ParseTask.parse({"task_id": "m", "supplier": {"code": "m"},
                            "source": {"type": kind, "path": str(path)}})
    try:
        for sheet in get_source(kind).read(task.source):
            limits.check_sheet(sheet, str(path))
        outcome = "read"
    except LoaderError as err:
        outcome = f"{err.code}: {str(err)[-90:]}"
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, outcome)
"""


def zip_bomb(path: Path) -> None:
    wb = Workbook()
    wb.active.append(["Артикул", "Наименование", "Цена"])
    wb.active.append(["A-1", "Болт", 10])
    good = io.BytesIO()
    wb.save(good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        with dst.open("xl/media/padding.bin", "w", force_zip64=True) as member:
            for _ in range(2048):  # 2 GB of zeros, about 2 MB zipped
                member.write(b"\0" * (1024 * 1024))


def long_line(path: Path) -> None:
    path.write_text("Артикул;Наименование;Цена\nA-1;" + "x" * 10_000_000 + ";10\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = {"baseline (imports only)": Path("-")}
        for name, make in (("zip_bomb.xlsx", zip_bomb), ("long_line.csv", long_line)):
            make(Path(tmp) / name)
            files[name] = Path(tmp) / name
        for label, path in files.items():
            size = path.stat().st_size / 1e6 if path.name != "-" else 0
            out = subprocess.run(
                [sys.executable, "-c", READ, str(path)], capture_output=True, text=True, check=True
            ).stdout.split(" ", 1)
            print(
                f"{label:28} file {size:6.1f} MB  peak RSS {float(out[0]):6.0f} MB  {out[1].strip()}"
            )


if __name__ == "__main__":
    main()

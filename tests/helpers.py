"""Small builders shared by the tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Protocol

import psycopg
from openpyxl import Workbook

DATA = Path(__file__).resolve().parent / "data"
REAL = DATA / "real"


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


class _Connectable(Protocol):
    def connect(self) -> psycopg.Connection: ...


def supplier_items_of(stack: _Connectable, supplier: str) -> list[tuple[Any, ...]]:
    """A supplier's items as a user checks them: sku, name, price, currency, characteristics."""
    with stack.connect() as conn:
        return conn.execute(
            "select supplier_sku, name, price, currency, characteristics from marts.supplier_items"
            " where supplier_code = %s order by supplier_sku",
            (supplier,),
        ).fetchall()


def stop_worker(worker: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Ask a worker process to stop (RQ's warm shutdown); kill it if it has not within a minute
    (on a loaded machine a worker may still be importing dbt when asked)."""
    worker.terminate()
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=30)

"""A corpus of broken and hostile files, generated here, through the real queue and one worker.

Each file has its expected outcome (an error code, or how many rows became items); the same
worker process serves them all, one after another, and is still serving at the end.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from loader import queue as task_queue
from loader.config import PROJECT_ROOT
from loader.exceptions import LoaderError
from loader.task import ParseTask
from tests.conftest import Stack

LIMITS = {
    "MAX_FILE_MB": "25",
    "MAX_ROWS": "50000",
    "MAX_COLUMNS": "1000",
    "MAX_CELL_CHARS": "2000000",
    "MAX_SHEETS": "10",
    "MAX_XLSX_UNZIPPED_MB": "100",
    "TASK_TIMEOUT_S": "120",
}
GOOD = "Артикул;Наименование;Цена\nA-1;Болт М6;10\nA-2;Гайка М6;5,50\n"


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path | str]  # writes the file, returns its path (or a source ref)
    error: str | None = None  # expected error code; None: the task finishes
    accepted: int | None = None  # items accepted when it finishes
    status: str | None = None  # expected status when it finishes
    text: str = ""  # a fragment the error message or result must contain


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        (root / name).write_bytes(data)
        return root / name

    return build


def _text(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    return _write(name, text.encode(encoding))


def _xlsx_bytes(rows: list[list[Any]], sheets: int = 1) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for i in range(sheets):
        ws = wb.create_sheet(f"Лист{i + 1}")
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GOOD_XLSX = [["Артикул", "Наименование", "Цена"], ["A-1", "Болт М6", 10], ["A-2", "Гайка", 5.5]]


def _zip_bomb(root: Path) -> Path:
    path = root / "zip_bomb.xlsx"
    with (
        zipfile.ZipFile(io.BytesIO(_xlsx_bytes(GOOD_XLSX))) as good,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for item in good.infolist():
            bomb.writestr(item, good.read(item))
        with bomb.open("xl/media/padding.bin", "w") as member:  # 300 MB of zeros, ~300 KB zipped
            chunk = b"\0" * (1024 * 1024)
            for _ in range(300):
                member.write(chunk)
    return path


def _entity_bomb(root: Path) -> Path:
    path = root / "billion_laughs.xlsx"
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
            for i in range(1, 10)
        )
        + b']><worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is>'
        b"</c></row></sheetData></worksheet>"
    )
    with (
        zipfile.ZipFile(io.BytesIO(_xlsx_bytes(GOOD_XLSX))) as good,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bad,
    ):
        for item in good.infolist():
            data = laughs if item.filename == "xl/worksheets/sheet1.xml" else good.read(item)
            bad.writestr(item, data)
    return path


def _wide_xlsx(root: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    for row in GOOD_XLSX:
        ws.append(row)
    ws.cell(row=1, column=16384, value="XFD")
    wb.save(root / "wide.xlsx")
    return root / "wide.xlsx"


def _formulas_xlsx(root: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["Артикул", "Наименование", "Цена", "Ссылка"])
    ws.append(
        ["F-1", "Болт", "=2*5", '=HYPERLINK("http://evil.example","клик")']
    )  # no cached value
    ws.append(["F-2", "Гайка", 7, "=1+1"])
    wb.save(root / "formulas.xlsx")
    return root / "formulas.xlsx"


def _symlink_out(root: Path) -> Path:
    (root / "link.csv").symlink_to("/etc/hostname")
    return root / "link.csv"


def _directory(root: Path) -> Path:
    (root / "folder.csv").mkdir()
    return root / "folder.csv"


def _big_file(root: Path) -> Path:
    path = root / "big.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Артикул;Наименование;Цена\n")
        line = "X-1;" + "Очень длинное описание " * 10 + ";10\n"
        while fh.tell() < 26 * 1024 * 1024:
            fh.write(line)
    return path


CASES = [
    Case("binary", _write("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)),
         error="unreadable_source", text="NUL"),
    Case("nul_in_cell", _text("nul.csv", "Артикул;Наименование;Цена\nA-1;Бо\x00лт;10\n"),
         error="unreadable_source"),
    Case("empty", _write("empty.csv", b""), error="empty_source"),
    Case("whitespace", _text("blank.csv", " \n\n  \t\n"), error="empty_source"),
    Case("header_only", _text("header.csv", "Артикул;Наименование;Цена\n"),
         error="no_data_rows"),
    Case("only_separators", _text("commas.csv", ";;;;\n;;;;\n"), error="no_data_rows"),
    Case("empty_header_row", _text("empty_header.csv", ";;\nA-1;Болт оцинкованный;10.50\n"
         "A-2;Гайка шестигранная;3.20\nA-3;Шайба плоская;1.10\n"), accepted=3, status="success"),
    Case("duplicate_headers", _text("dup.csv", "Наименование;Цена;Цена\nБолт;10;12\n"),
         accepted=1, status="success", text="duplicate header 'Цена'"),
    Case("ten_mb_line", _text("long_line.csv", "Артикул;Наименование;Цена\nA-1;" + "Я" * 10_000_000
         + ";10\n"), error="limit_exceeded", text="row 2, column B"),
    Case("hundred_thousand_columns", _text("wide.csv", ";".join(f"c{i}" for i in range(100_000))
         + "\n" + ";".join("1" for _ in range(100_000)) + "\n"), error="limit_exceeded",
         text="100000 columns"),
    Case("too_many_rows", _text("rows.csv", "Артикул;Наименование;Цена\n"
         + "".join(f"R-{i};Товар {i};{i}\n" for i in range(50_001))), error="limit_exceeded",
         text="MAX_ROWS"),
    Case("file_too_big", _big_file, error="limit_exceeded", text="MAX_FILE_MB"),
    Case("mixed_encodings", _write("mixed.csv", "Артикул;Наименование;Цена\n".encode()
         + "A-1;Болт;10\n".encode("cp1251") + "A-2;Гайка;5\n".encode()), accepted=2),
    Case("utf16", _text("utf16.csv", "\ufeff" + GOOD, "utf-16-le"), accepted=2, status="success"),
    Case("sql_header", _text("sql.csv", 'Артикул;Наименование;Цена;"\'; drop table raw.price_rows;'
         ' --"\nA-1;"\'); delete from marts.supplier_items; --";10;x\n'), accepted=1),
    Case("jinja_header", _text("jinja.csv", 'Артикул;Наименование;Цена;{{ run_query("drop table '
         'raw.price_rows") }}\nA-1;{% raw %}Болт{% endraw %};10;{{ 7*7 }}\n'), accepted=1,
         status="success"),
    Case("formulas_csv", _text("formulas.csv", 'Артикул;Наименование;Цена\nA-1;"=HYPERLINK(""http:'
         '//x"",""y"")";10\nA-2;=1+2;5\n'), accepted=2, status="success"),
    Case("unterminated_quote", _text("quote.csv", 'Артикул;Наименование;Цена\nA-1;"Болт;10\n'
         "A-2;Гайка;5\n"), status="failed", accepted=0),
    Case("not_a_price_list", _text("contacts.csv", "Имя;Телефон\nИван;+7 900 000-00-00\n"
         "Пётр;+7 901 000-00-00\n"), status="needs_review", accepted=0),
    Case("path_traversal", lambda root: str(root / ".." / ".." / "etc" / "passwd"),
         error="source_not_allowed", text="outside the directory"),
    Case("symlink_out", _symlink_out, error="source_not_allowed"),
    Case("missing", lambda root: root / "nowhere.csv", error="source_not_found"),
    Case("directory", _directory, error="source_not_found", text="not a regular file"),
    Case("truncated_xlsx", _write("truncated.xlsx", _xlsx_bytes(GOOD_XLSX)[:1500]),
         error="unreadable_source"),
    Case("corrupt_zip", _write("corrupt.xlsx", b"PK\x03\x04" + os.urandom(3000)),
         error="unreadable_source"),
    Case("text_as_xlsx", _write("text.xlsx", GOOD.encode()), error="unreadable_source",
         text="no zip signature"),
    Case("zip_bomb", _zip_bomb, error="limit_exceeded", text="MAX_XLSX_UNZIPPED_MB"),
    Case("entity_bomb", _entity_bomb, error="unreadable_source", text="DTD"),
    Case("too_many_sheets", _write("sheets.xlsx", _xlsx_bytes(GOOD_XLSX, sheets=12)),
         error="limit_exceeded", text="12 sheets"),
    Case("xfd_column", _wide_xlsx, error="limit_exceeded", text="over the limit of 1000"),
    Case("formulas_xlsx", _formulas_xlsx, accepted=1, status="partial_success"),
    Case("empty_workbook", _write("empty.xlsx", _xlsx_bytes([])), error="no_data_rows"),
    Case("google_url_elsewhere", lambda root: "http://evil.example/spreadsheets/d/"
         "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdef/edit", error="source_not_allowed"),
]  # fmt: skip


def _code(error: str) -> str | None:
    """The error code of the exception a failed job's message names."""
    name = error.split(":", 1)[0].rsplit(".", 1)[-1]
    found: list[type[LoaderError]] = [LoaderError]
    while found:
        cls = found.pop()
        if cls.__name__ == name:
            return cls.code
        found.extend(cls.__subclasses__())
    return None


def _task(stack: Stack, case: Case, ref: Path | str) -> ParseTask:
    if isinstance(ref, str) and ref.startswith("http"):
        source: dict[str, Any] = {"type": "google_sheets", "spreadsheet": ref}
    else:
        suffix = str(ref).rsplit(".", 1)[-1]
        source = {"type": "xlsx" if suffix == "xlsx" else "csv", "path": str(ref)}
    return ParseTask.parse(
        {
            "task_id": stack.task_id(f"hostile-{case.name}"),
            "supplier": {"code": f"hostile-{case.name}".replace("_", "-")},
            "source": source,
        }
    )


def test_one_worker_survives_the_whole_corpus(stack: Stack, tmp_path: Path) -> None:
    assert len(CASES) >= 30
    root = tmp_path / "files"
    root.mkdir()
    queue = task_queue.get_queue(task_queue.connect(stack.redis_url), stack.settings.queue_name)
    jobs = [(case, task_queue.enqueue(_task(stack, case, case.build(root)), queue).job)
            for case in CASES]  # fmt: skip

    worker = subprocess.run(
        [sys.executable, "-m", "loader", "worker", "--burst"],
        env={**stack.env(), **LIMITS, "FILES_ROOT": str(root)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert worker.returncode == 0, worker.stderr[-2000:]
    problems = []
    for case, job in jobs:
        job.refresh()
        if case.error:
            error = (
                task_queue.last_error(job) if job.is_failed else f"not failed: {job.get_status()}"
            )
            if not job.is_failed or _code(error) != case.error or case.text not in error:
                problems.append(f"{case.name}: expected {case.error} {case.text!r}, got {error}")
            continue
        if not job.is_finished:
            problems.append(f"{case.name}: {job.get_status()} {task_queue.last_error(job)}")
            continue
        result = task_queue.wait(job, 5, database_url=stack.database_url)  # its final one
        got = (result["items_accepted"], result["status"])
        want = (case.accepted, case.status or result["status"])
        text = str(result)
        if got != want or case.text not in text:
            problems.append(f"{case.name}: expected {want} {case.text!r}, got {got}: {text[:300]}")
    assert problems == [], "\n".join(problems)
    with stack.connect() as conn:  # the hostile headers touched nothing
        for table in ("raw.price_rows", "marts.supplier_items", "marts.parsing_logs"):
            assert conn.execute(f"select count(*) from {table}").fetchone()[0] > 0  # noqa: S608


def test_a_task_that_hangs_is_stopped_by_its_timeout_and_not_retried(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loader.config import get_settings

    path = tmp_path / "ok.csv"
    path.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("TASK_TIMEOUT_S", "3")  # fixed on the job when it is enqueued
    get_settings.cache_clear()
    task = _task(stack, Case("hang", lambda root: path), path)
    queue = task_queue.get_queue(task_queue.connect(stack.redis_url), stack.settings.queue_name)
    job = task_queue.enqueue(task, queue).job
    get_settings.cache_clear()

    worker = subprocess.run(
        [sys.executable, "-m", "loader", "worker", "--burst"],
        env={**stack.env(), "LOADER_FAULT": "hang@read"},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert worker.returncode == 0
    job.refresh()
    assert job.is_failed and "JobTimeoutException" in task_queue.last_error(job)
    assert job.retries_left == 0  # a task that ran out of time would run out of time again

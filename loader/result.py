"""What a finished task reports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

TaskStatus = Literal["success", "partial_success", "failed"]


class SheetReport(BaseModel):
    sheet: str
    header_row: int | None
    rows: int
    mapping: dict[str, str | None]


class TaskResult(BaseModel):
    task_id: str
    supplier_code: str
    source: str
    status: TaskStatus
    rows_landed: int
    items_accepted: int
    rows_rejected: int
    rows_skipped: int
    rejected_by_rule: dict[str, int]
    sheets: list[SheetReport]
    skipped_sheets: dict[str, str]
    duration_s: float

    @staticmethod
    def status_for(items_accepted: int, rows_rejected: int, skipped_sheets: int) -> TaskStatus:
        """All rows in: success. Some in: partial_success. None in: failed."""
        if items_accepted == 0:
            return "failed"
        if rows_rejected or skipped_sheets:
            return "partial_success"
        return "success"

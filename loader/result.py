"""What a finished task reports (returned as the RQ job result and kept in raw.task_results)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TaskStatus = Literal["success", "partial_success", "failed", "needs_review"]


class SheetReport(BaseModel):
    sheet: str
    header_row: int | None = Field(description="1-based row of the header; null: no header")
    rows: int
    mapping: dict[str, str | None]
    review: list[str] = Field(default_factory=list, description="Why a person must decide")


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
    message: str | None = Field(default=None, description="For needs_review: what to decide")

    @staticmethod
    def status_for(items_accepted: int, rows_rejected: int, skipped_sheets: int) -> TaskStatus:
        """All rows in: success. Some in: partial_success. None in: failed."""
        if items_accepted == 0:
            return "failed"
        if rows_rejected or skipped_sheets:
            return "partial_success"
        return "success"

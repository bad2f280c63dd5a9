"""What a finished task reports (returned as the RQ job result and kept in raw.task_results)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# `transforming`: the task landed its rows and handed them to the dbt run another worker was in,
# or to a later task's (loader.handover); whoever ran dbt replaces it with the final status in
# raw.task_results.
TaskStatus = Literal["success", "partial_success", "failed", "needs_review", "transforming"]
FINAL_STATUSES = ("success", "partial_success", "failed", "needs_review")


class SheetReport(BaseModel):
    sheet: str
    header_row: int | None = Field(description="1-based row of the header; null: no header")
    rows: int
    mapping: dict[str, str | None]
    review: list[str] = Field(default_factory=list, description="Why a person must decide")
    warnings: list[str] = Field(default_factory=list, description="Kept going, worth a look")


class Reason(BaseModel):
    """One row rule the task's rows broke, with how many rows and the first of them."""

    rule_code: str
    severity: Literal["error", "warn"]
    rows: int
    example: str = Field(description="Sheet, row, column, value and message of the first row")


class TaskResult(BaseModel):
    """What a finished task reports. Every landed row is counted once:
    rows_landed = items_accepted + rows_rejected + rows_skipped (a `transforming` result has
    counted the landed rows only, so far)."""

    task_id: str
    supplier_code: str
    source: str
    status: TaskStatus
    rows_landed: int = Field(description="Data rows read and landed (below the header)")
    items_accepted: int = Field(description="Rows that became or updated supplier items")
    rows_rejected: int = Field(description="Rows that broke an error rule (see parsing_logs)")
    rows_skipped: int = Field(description="Blank and section rows")
    rows_warned: int = Field(default=0, description="Accepted rows that broke a warn rule")
    rejected_by_rule: dict[str, int] = Field(description="Rejected rows per error rule")
    warned_by_rule: dict[str, int] = Field(default_factory=dict, description="Per warn rule")
    top_reasons: list[Reason] = Field(
        default_factory=list, description="The most frequent rules broken, errors first"
    )
    sheets: list[SheetReport]
    skipped_sheets: dict[str, str]
    duration_s: float
    message: str | None = Field(
        default=None, description="For needs_review: what to decide; else a note, if any"
    )
    load_id: str | None = Field(default=None, description="The landing the counts are about")

    @staticmethod
    def status_for(items_accepted: int, rows_rejected: int, skipped_sheets: int) -> TaskStatus:
        """All rows in: success. Some in: partial_success. None in: failed."""
        if items_accepted == 0:
            return "failed"
        if rows_rejected or skipped_sheets:
            return "partial_success"
        return "success"

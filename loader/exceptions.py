"""Errors the loader raises. Each says whether retrying could help.

Retriable errors are transient (network, quota, database connection); permanent ones are
about the task or its input and would fail the same way again.
"""

from __future__ import annotations


class LoaderError(Exception):
    """Base class. `retriable` drives the queue's retry decision."""

    retriable: bool = False
    code: str = "loader_error"


class PermanentError(LoaderError):
    retriable = False


class RetriableError(LoaderError):
    retriable = True


class InvalidTaskError(PermanentError):
    code = "invalid_task"


class SourceNotFoundError(PermanentError):
    code = "source_not_found"


class EmptySourceError(PermanentError):
    code = "empty_source"


class UnreadableSourceError(PermanentError):
    """The file is not a spreadsheet we can read (binary, corrupt, unknown format)."""

    code = "unreadable_source"


class NoDataRowsError(PermanentError):
    code = "no_data_rows"


class SheetNotSharedError(PermanentError):
    """Google answered 403: the spreadsheet is not shared with the service account."""

    code = "sheet_not_shared"


class CredentialsError(PermanentError):
    """The service-account file is missing or invalid, or Google refused its token."""

    code = "credentials_refused"


class ShortReadError(RetriableError):
    """Fewer rows came back than the sheet's grid holds; never report partial data as success."""

    code = "short_read"


class MappingError(PermanentError):
    """The columns of a sheet could not be mapped to the required fields."""

    code = "mapping_failed"


class TransformError(PermanentError):
    """dbt failed: a model error or a data-quality gate (dbt test) failed."""

    code = "transform_failed"


class DatabaseUnavailableError(RetriableError):
    code = "database_unavailable"


class SourceTemporarilyUnavailableError(RetriableError):
    code = "source_unavailable"


class LimitExceededError(PermanentError):
    """The file is bigger, wider or deeper than the configured limits allow."""

    code = "limit_exceeded"


class SourceNotAllowedError(PermanentError):
    """The source is outside what the worker is configured to read."""

    code = "source_not_allowed"


class TaskTimeoutError(PermanentError):
    code = "task_timeout"

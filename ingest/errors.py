"""Exceptions raised by the project's Python code.

Every error the project raises on purpose derives from `TallyError`, so the runner can tell an
expected failure (reported in one line) from a bug (reported with a traceback under --debug).
"""

from __future__ import annotations

from pathlib import Path


class TallyError(Exception):
    """Base class of the project's own errors."""


class LandingZoneError(TallyError):
    """The landing zone is missing, empty or unreadable.

    Attributes:
        landing: the folder that was looked at.
    """

    def __init__(self, landing: Path, problem: str, remedy: str) -> None:
        self.landing = landing
        super().__init__(f"landing zone `{landing}` {problem}; {remedy}")


class SourceConfigError(TallyError):
    """A source's configuration or secret is missing or malformed.

    Attributes:
        key: the configuration key or environment variable at fault.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(f"`{key}` {problem}")


class IngestError(TallyError):
    """A dlt pipeline failed while extracting, normalizing or loading.

    Attributes:
        source: the upstream system whose pipeline failed.
        stage: `extract`, `normalize` or `load`.
    """

    def __init__(self, source: str, stage: str, cause: str) -> None:
        self.source = source
        self.stage = stage
        super().__init__(f"ingest of source `{source}` failed during {stage}: {cause}")

"""Logging for a run: a readable console, a JSON-lines file per run, and secret redaction.

Every record carries the run id and the current step (context variables set by the runner).
dlt's and dbt's logs are routed into the same handlers, so one file tells the whole story of a
run; dbt also keeps its own debug log (`dbt.log`) in the log folder.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

from runner.settings import LogFormat

current_run_id: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="-")
current_step: contextvars.ContextVar[str] = contextvars.ContextVar("step", default="-")
_main_thread_step = ["-"]

REDACTED = "<redacted>"
# Environment variables whose values are secrets, by name: dlt's `...__CREDENTIALS`,
# `...__PASSWORD`, API tokens, the alert webhook (its path is the token).
_SECRET_NAME = re.compile(
    r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_KEY|CREDENTIALS|WEBHOOK|AUTH|DSN",
    re.IGNORECASE,
)
# A password inside any URL: scheme://user:password@host.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^/\s:@]*:)[^/\s@]+(?=@)", re.I)
# Shorter values are not worth redacting and would blank out ordinary words.
_MIN_SECRET_LENGTH = 6


class Redactor:
    """Replaces known secret values, and passwords inside URLs, with `<redacted>`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        usable = {secret for secret in secrets if len(secret) >= _MIN_SECRET_LENGTH}
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted(usable, key=len, reverse=True)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], extra: Iterable[str | None] = ()
    ) -> Redactor:
        """Collect the values of secret-looking environment variables plus `extra` values."""
        named = [value for name, value in environ.items() if _SECRET_NAME.search(name)]
        return cls([*named, *(value for value in extra if value)])

    def redact(self, text: str) -> str:
        """Return `text` without any secret in it."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _URL_PASSWORD.sub(rf"\g<head>{REDACTED}", text)


class RedactingFilter(logging.Filter):
    """Renders each record's message (and traceback) once, redacted, before any handler."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        return True


class ContextFilter(logging.Filter):
    """Stamps each record with the run id and step.

    dbt logs from its own worker threads, which do not inherit context variables; the values
    of the run's main thread, kept here too, stand in for them there.
    """

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self._run_id = run_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = self._run_id
        step = current_step.get()
        record.step = step if step != "-" else _main_thread_step[0]
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, run_id, step, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "run_id": getattr(record, "run_id", current_run_id.get()),
            "step": getattr(record, "step", current_step.get()),
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`12:00:01 INFO    ingest  loaded source=shop rows=120` for people at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(step)-7s %(message)s", "%H:%M:%S")


class StatusLine:
    """A single self-rewriting progress line on a terminal; silent when not on a TTY.

    A ticker thread refreshes the elapsed time; console log lines clear the status line first
    so the two never interleave.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.enabled = stream.isatty()
        self._lock = threading.RLock()
        self._label = ""
        self._detail = ""
        self._started = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def show(self, label: str) -> Iterator[None]:
        """Show `label` with a running clock until the block ends."""
        if not self.enabled:
            yield
            return
        self._label, self._detail, self._started = label, "", time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="status-line", daemon=True)
        self._thread.start()
        try:
            yield
        finally:
            self._stop.set()
            self._thread.join()
            self.clear()
            self._label = ""

    def update(self, detail: str) -> None:
        """Set the detail shown after the label, e.g. `12/57 nodes`."""
        self._detail = detail
        self._draw()

    def clear(self) -> None:
        """Erase the status line (before a log line is written)."""
        if self.enabled:
            with self._lock:
                self._stream.write("\r\033[K")

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._draw()

    def _draw(self) -> None:
        if not self.enabled or not self._label:
            return
        elapsed = time.monotonic() - self._started
        with self._lock:
            self._stream.write(f"\r\033[K{self._label} {self._detail} {elapsed:5.1f}s")
            self._stream.flush()


class ConsoleHandler(logging.StreamHandler):
    """A stderr handler that clears the status line before each record.

    Tracebacks reach the console only under --debug; the run's log file always keeps them.
    """

    def __init__(self, stream: TextIO, status: StatusLine, *, show_tracebacks: bool) -> None:
        super().__init__(stream)
        self._status = status
        self._show_tracebacks = show_tracebacks

    def emit(self, record: logging.LogRecord) -> None:
        self._status.clear()
        if not self._show_tracebacks and (record.exc_info or record.exc_text):
            record = logging.makeLogRecord(record.__dict__)
            record.exc_info = None
            record.exc_text = None
        super().emit(record)


class ForwardToRoot(logging.Handler):
    """Hands records of a non-propagating logger (dlt's) to the root handlers.

    dlt sets `propagate = False` on its logger and reuses the first handler it finds there;
    installing this one first keeps dlt's records in the run's console and file.
    """

    def emit(self, record: logging.LogRecord) -> None:
        for handler in logging.getLogger().handlers:
            if record.levelno >= handler.level:
                handler.handle(record)


class RunLogging:
    """Installs the run's handlers on the root logger and removes them again.

    Attributes:
        log_file: the run's JSON-lines file, `<log dir>/run-<run_id>.jsonl`.
        status: the terminal status line for long steps.
    """

    def __init__(
        self,
        *,
        run_id: str,
        log_dir: Path | None,
        log_format: LogFormat,
        level: str,
        redactor: Redactor,
        show_tracebacks: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.run_id = run_id
        self.log_file = log_dir / f"run-{run_id}.jsonl" if log_dir is not None else None
        console_stream = stream if stream is not None else sys.stderr
        self.status = StatusLine(console_stream)
        self._level = logging.getLevelName(level)
        self._handlers: list[logging.Handler] = []
        self._filters: list[logging.Filter] = [ContextFilter(run_id), RedactingFilter(redactor)]

        console = ConsoleHandler(console_stream, self.status, show_tracebacks=show_tracebacks)
        console.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
        console.setLevel(self._level)
        self._handlers.append(console)
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.FileHandler(self.log_file, encoding="utf-8")
            file_handler.setFormatter(JsonFormatter())
            file_handler.setLevel(min(self._level, logging.INFO))
            self._handlers.append(file_handler)
        self._previous: tuple[int, list[logging.Handler]] = (logging.WARNING, [])
        self._dlt_forwarder = ForwardToRoot()
        self._run_id_token: contextvars.Token[str] | None = None

    def __enter__(self) -> RunLogging:
        root = logging.getLogger()
        self._previous = (root.level, list(root.handlers))
        for handler in self._handlers:
            for log_filter in self._filters:
                handler.addFilter(log_filter)
            root.addHandler(handler)
        root.setLevel(min(handler.level for handler in self._handlers))
        dlt_logger = logging.getLogger("dlt")
        dlt_logger.handlers.insert(0, self._dlt_forwarder)
        dlt_logger.propagate = False
        self._run_id_token = current_run_id.set(self.run_id)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(self._previous[0])
        dlt_logger = logging.getLogger("dlt")
        if self._dlt_forwarder in dlt_logger.handlers:
            dlt_logger.removeHandler(self._dlt_forwarder)
        if self._run_id_token is not None:
            current_run_id.reset(self._run_id_token)


@contextlib.contextmanager
def step_context(step: str) -> Iterator[None]:
    """Tag every record logged inside the block with `step`."""
    token = current_step.set(step)
    _main_thread_step[0] = step
    try:
        yield
    finally:
        current_step.reset(token)
        _main_thread_step[0] = current_step.get()

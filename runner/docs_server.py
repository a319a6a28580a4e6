"""Serves the dbt docs site (target/index.html, manifest.json, catalog.json) on 127.0.0.1.

Only loopback is bound: the site shows every model's SQL and column, which is not for the
whole network. Put a real web server in front of target/ to publish it.
"""

from __future__ import annotations

import functools
import http.server
import logging
import sys
import threading
from pathlib import Path

from runner.errors import UsageError

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
SITE_FILES = ("index.html", "manifest.json", "catalog.json")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, with each request logged at DEBUG instead of printed to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("docs request %s", format % args)


class _DocsServer(http.server.ThreadingHTTPServer):
    """A browser that closes a connection mid-response is routine, not an error to print."""

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            logger.debug("docs client went away address=%s error=%s", client_address, error)
            return
        logger.warning("docs request failed address=%s", client_address, exc_info=True)


def make_docs_server(site_dir: Path, port: int = 8080) -> http.server.ThreadingHTTPServer:
    """A server for the docs site in `site_dir`, bound to 127.0.0.1 (port 0: any free port).

    Raises:
        UsageError: the site has not been generated yet, or the port is taken.
    """
    missing = [name for name in SITE_FILES if not (site_dir / name).is_file()]
    if missing:
        raise UsageError(
            "docs site",
            str(site_dir),
            f"lacks {', '.join(missing)}; run `python run.py docs` to generate it first",
        )
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    try:
        return _DocsServer((HOST, port), handler)
    except OSError as err:
        raise UsageError(
            "--port", str(port), f"cannot be bound on {HOST} ({err.strerror}); pick another"
        ) from err


def serve_in_background(server: http.server.ThreadingHTTPServer) -> threading.Thread:
    """Serve on a daemon thread (for tests and tools); stop with `server.shutdown()`."""
    thread = threading.Thread(target=server.serve_forever, name="docs-server", daemon=True)
    thread.start()
    return thread


def site_url(server: http.server.ThreadingHTTPServer) -> str:
    """The site's address, e.g. `http://127.0.0.1:8080/`."""
    return f"http://{HOST}:{server.server_address[1]}/"

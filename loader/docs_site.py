"""The dbt documentation site analysts read: generated from the live database, served over HTTP.

`dbt docs generate` writes index.html, manifest.json and catalog.json (the catalog reads column
types and row counts from the database, as the transform role). The site is a static page that
fetches those files, so any HTTP server will do; this one serves only the site's own files.
"""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from loader.config import Settings
from loader.transform import dbt_paths, run_dbt

SITE_FILES = ("index.html", "manifest.json", "catalog.json")


def generate(database_url: str, settings: Settings, site_dir: Path) -> Path:
    """Build the site for this database into site_dir; return it."""
    target, _ = dbt_paths(database_url, settings)
    target = target.with_name("docs-target")  # not the workers' dbt state
    run_dbt(database_url, settings, ["docs", "generate"], target_dir=target)
    site_dir.mkdir(parents=True, exist_ok=True)
    for name in SITE_FILES:
        shutil.copy2(target / name, site_dir / name)
    return site_dir


class _SiteHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        pass  # the access log is noise on a terminal


def server(site_dir: Path, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """An HTTP server for the site (port 0: any free port; see server_address)."""
    missing = [n for n in SITE_FILES if not (site_dir / n).exists()]
    if missing:
        raise FileNotFoundError(
            f"{site_dir} has no {', '.join(missing)}: run `loader docs generate`"
        )
    handler = functools.partial(_SiteHandler, directory=str(site_dir))
    return ThreadingHTTPServer((host, port), handler)


def serve_in_background(
    site_dir: Path, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    httpd = server(site_dir, host, port)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd

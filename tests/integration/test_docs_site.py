"""The dbt docs site analysts read: everything described, and usable in a real browser.

The browser test drives Debian's Chromium (installed by the test when missing and allowed) with
Playwright, as an analyst would: search, open supplier_items, open its lineage graph. The
screenshot is kept in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loader import docs_site, migrate, schema_diagram
from loader.config import PROJECT_ROOT, Settings
from loader.db import connect
from loader.transform import run_dbt

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# Without the networking flags Chromium keeps calling Google, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generic tests named by what they check (not_null_supplier_items_price) describe themselves.
SELF_DESCRIBING_TESTS = {"not_null", "unique", "accepted_values", "relationships"}


@pytest.fixture(scope="module")
def built(
    admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Settings]]:
    """A migrated database where dbt has built every model (nothing landed)."""
    from loader.db import create_database, drop_database

    tmp = tmp_path_factory.mktemp("docs")
    name = f"mb_test_docs_{uuid.uuid4().hex[:10]}"
    url = create_database(admin_url, name)
    try:
        migrate.upgrade(url)
        settings = Settings(database_url=url, local_state_dir=tmp / "state")
        run_dbt(url, settings, ["build", "--exclude", "test_type:unit"])
        yield url, settings
    finally:
        drop_database(admin_url, name)


@pytest.fixture(scope="module")
def site(built: tuple[str, Settings]) -> Path:
    url, settings = built
    return docs_site.generate(url, settings, settings.local_state_dir / "site")


def test_the_committed_schema_diagram_matches_the_database(built: tuple[str, Settings]) -> None:
    with connect(built[0]) as conn:
        generated = schema_diagram.render(conn)
    committed = (PROJECT_ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    assert committed == generated, "docs/schema.md is out of date: run `loader docs diagram`"
    assert 'marts_suppliers ||--o{ marts_supplier_items : "supplier_id, on delete cascade"' in (
        generated
    )


def _load(site: Path, name: str) -> dict[str, Any]:
    return json.loads((site / name).read_text())


def test_every_model_source_column_test_and_macro_is_described(site: Path) -> None:
    manifest, catalog = _load(site, "manifest.json"), _load(site, "catalog.json")
    undescribed: list[str] = []
    for uid, node in manifest["nodes"].items():
        if node["package_name"] != "marketbel":
            continue
        generic = (node.get("test_metadata") or {}).get("name")
        if not node.get("description") and generic not in SELF_DESCRIBING_TESTS:
            undescribed.append(uid)
        documented = {k.lower(): c for k, c in node.get("columns", {}).items()}
        for column in catalog["nodes"].get(uid, {}).get("columns", {}):
            if not documented.get(column.lower(), {}).get("description"):
                undescribed.append(f"{uid}.{column}")
    for uid, source in manifest["sources"].items():
        if not source.get("description"):
            undescribed.append(uid)
        for column in catalog["sources"].get(uid, {}).get("columns", {}):
            if not source["columns"].get(column, {}).get("description"):
                undescribed.append(f"{uid}.{column}")
    for uid, macro in manifest["macros"].items():
        if macro["package_name"] == "marketbel" and not macro.get("description"):
            undescribed.append(uid)
    assert undescribed == []
    # The catalog really read the database: the serving tables and their columns are there.
    assert "supplier_id" in catalog["nodes"]["model.marketbel.supplier_items"]["columns"]
    exposures = {e["name"] for e in manifest["exposures"].values()}
    assert {"marketplace_catalogue", "supplier_data_quality", "price_monitoring"} <= exposures
    assert (
        "Marketbel supplier catalogue"
        in manifest["docs"]["doc.marketbel.__overview__"]["block_contents"]
    )


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing and cannot be installed here (needs root and apt-get)")
        pytest.skip("Chromium is missing; install Debian's `chromium` package")
    install = [apt, "install", "-y", "-q", "chromium"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run([apt, "update", "-q"], env=env, capture_output=True, timeout=600)
        subprocess.run(install, env=env, check=True, capture_output=True, timeout=900)
    found = shutil.which("chromium")
    assert found, "apt-get installed chromium but it is not on PATH"
    return found


def test_an_analyst_finds_supplier_items_and_its_lineage_in_a_browser(site: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    httpd = docs_site.serve_in_background(site)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "docs-lineage-supplier_items.png"
    screenshot.unlink(missing_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            page.wait_for_selector("text=Marketbel supplier catalogue")  # the overview page

            page.locator("input[placeholder*='Search']").first.fill("supplier_items")
            results = page.locator('[ng-click="onSelect()"]')
            results.first.wait_for()
            [hit] = [
                results.nth(i)
                for i in range(results.count())
                if results.nth(i).inner_text().startswith("supplier_items model")
            ]
            hit.click()
            page.wait_for_function("location.hash.endsWith('model.marketbel.supplier_items')")
            page.wait_for_selector("text=True while the supplier's latest list carries the item.")

            page.locator('[ng-click="onLauncherClick()"]').click()  # the lineage button
            page.wait_for_selector("text=Lineage Graph")
            page.locator('[ng-click="showExpanded()"]').click()
            page.wait_for_function(
                "[...document.querySelectorAll('input')].some(i => i.value === '+supplier_items+')"
            )
            shown = page.evaluate(
                """() => angular.element(document.body).injector().get('graph').graph.elements
                    .filter(e => e.data && !e.data.source).map(e => e.data.label)"""
            )
            page.wait_for_timeout(1000)  # let the graph finish its layout animation
            page.screenshot(path=str(screenshot))
            browser.close()
    finally:
        httpd.shutdown()

    # Upstream to the landed rows, downstream to history, gates and what reads the catalogue.
    assert {
        "supplier_items",
        "raw.price_rows",
        "int_price_rows__parsed",
        "suppliers",
        "price_history",
        "no_rejected_row_in_supplier_items",
        "Marketplace catalogue and price comparison",
    } <= set(shown)
    assert screenshot.stat().st_size > 20_000

"""The study report renders in a real headless browser (Debian's chromium) without errors."""

import shutil

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_report_renders_in_chromium(tiny_study):
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed; `bash scripts/setup.sh dev` installs Debian's chromium")
    report = tiny_study.folder / "report.html"
    errors, failed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        n_images = page.evaluate("document.images.length")
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                               ".map(i => i.src)")
        title = page.title()
        page.screenshot(path=str(tiny_study.folder / "report_screenshot.png"), full_page=True)
        browser.close()
    assert errors == [] and failed == [] and broken == []
    assert n_images >= 3 and "neurosafe study" in title
    assert (tiny_study.folder / "report_screenshot.png").stat().st_size > 10_000

"""The dashboard's books-check banner in a real browser.

Starts Fava on a copy of the example books without their two ``plugin`` lines
(no plugin runs, so bean-check and Fava's error page say nothing) and checks
that the Unit economics page shows the red banner naming the missing lines.
The example books as they are show no banner: tests/test_dashboard_browser.py
fails on any ``[role=alert]`` there.

Skipped when ``/usr/bin/chromium`` is missing, like the other browser test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, EXTENSION, VIEWPORT, _free_port
from test_pipeline import example_with

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def unplugged_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Fava on the example books without plugins; yields the dashboard's URL."""
    main_file = example_with(tmp_path_factory.mktemp("unplugged"), "none")
    # The page comes with the books: books.beancount includes dashboard/fava.beancount, whose
    # fava-extension line names no file (the extension's page is its own).
    assert f'"fava-extension" "{EXTENSION}"' in (ROOT / "dashboard" / "fava.beancount").read_text()
    port = _free_port()
    fava = shutil.which("lab-fava", path=str(Path(sys.executable).parent)) or "lab-fava"
    proc = subprocess.Popen(
        [fava, "--host", "127.0.0.1", "--port", str(port), str(main_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"fava exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(base + "/", timeout=5) as resp:
                    landing = resp.geturl()
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("fava did not answer within 120 s")
                time.sleep(0.3)
        slug = landing[len(base) :].strip("/").split("/")[0]
        yield f"{base}/{slug}/extension/UnitEconomics/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_banner_names_the_missing_plugins(unplugged_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            # A time and tag filter on the page must not hide the problem: the
            # check runs on the whole ledger. (A class tag such as #training would
            # select nothing here: without classify no transaction has one.)
            page.goto(unplugged_url + "?time=2026-10&filter=-%23allocation")
            banner = page.locator("[role=alert]")
            banner.first.wait_for(timeout=120_000)
            texts = banner.all_inner_texts()
        finally:
            browser.close()
    assert len(texts) == 1, texts
    text = " ".join(texts[0].split())
    assert text.startswith("Do not use these figures: the books were not loaded as the reports need.")
    assert "account-month(s) of expenses without a cost class (first: Expenses:" in text
    assert (
        'the main file needs plugin "ailab_books.plugins.allocate" then plugin "ailab_books.plugins.classify"'
        in text
    )

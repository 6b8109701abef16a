"""Time the Unit economics page in a real browser, phase by phase (run by hand).

Usage::

    python -m ailab_books.benchmarks.page [LEDGER] [--filter 'time=2026-Q3'] [--repeat 3]

Starts ``lab-fava`` on a free loopback port for LEDGER (default
``ledger/main.beancount``), waits until it answers (the ledger is loaded), then
opens the dashboard in headless Chromium (Debian's ``/usr/bin/chromium``, driven
by Playwright) ``--repeat`` times: the first view is cold (Fava's and the
page's caches empty), the later ones warm (a new browser context each time, so
the browser cache is empty too and only the server's caches are warm). Per
view it prints, in ms from the start of navigation:

| phase | when |
|---|---|
| html | the page's HTML has arrived (``responseEnd`` of the navigation) |
| headline (server) | the server-rendered headline is in the DOM (before any script) |
| script | the page's scripts (its panels and ECharts, ``script?name=...``) have arrived |
| figures | the ``v2_unit_economics`` answer has arrived |
| headline (page) | the page's headline panel is drawn |
| all panels | every chart has been drawn |

and the size of the scripts.
Nothing is asserted; the numbers depend on the machine (say in what you publish
if it was shared).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
#: Charts the page draws (its TITLES table, less the two html panels).
CHARTS = 8
PHASES = ["html", "headline (server)", "script", "figures", "headline (page)", "all panels"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fava(ledger: Path) -> Iterator[tuple[str, float]]:
    """``lab-fava`` on ``ledger``; yields the dashboard's URL and the seconds until Fava answered."""
    port = _free_port()
    command = shutil.which("lab-fava", path=str(Path(sys.executable).parent)) or "lab-fava"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [command, "--host", "127.0.0.1", "--port", str(port), str(ledger)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"lab-fava exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(base + "/", timeout=600) as resp:
                    landing = resp.geturl()
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        loaded = time.perf_counter() - start
        slug = landing[len(base) :].strip("/").split("/")[0]
        yield f"{base}/{slug}/extension/UnitEconomics/", loaded
    finally:
        proc.terminate()
        proc.wait(timeout=30)


_TIMINGS = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const find = (part) => res.find((e) => e.name.includes(part));
    const end = (part) => find(part)?.responseEnd ?? null;
    const size = (part) => find(part)?.encodedBodySize ?? null;
    return {
        html: nav.responseEnd,
        script: Math.max(end('script?name=page') ?? 0, end('script?name=echarts') ?? 0) || null,
        figures: end('v2_unit_economics'),
        scriptBytes: (size('script?name=page') ?? 0) + (size('script?name=echarts') ?? 0)
                     + (size('UnitEconomics.js') ?? 0),
        marks: window.__pageMarks ?? {},
        requests: res.filter((e) => e.name.startsWith(location.origin)
                                    && !e.name.includes('/static/')).map((e) =>
            [e.name.replace(location.origin, '').slice(0, 90),
             Math.round(e.requestStart), Math.round(e.responseEnd)]),
    };
}"""

# Recorded in the page: when the server's headline and the page's panels appear.
_OBSERVER = """() => {
    window.__pageMarks = {};
    const mark = (name) => {
        if (!(name in window.__pageMarks)) window.__pageMarks[name] = performance.now();
    };
    const check = () => {
        if (document.querySelector('[data-server-headline]')) mark('headline (server)');
        if (document.querySelector('[data-period]:not([data-server-headline] *)')) mark('headline (page)');
        if (Object.keys(window.unitEconomics ?? {}).length >= CHARTS) mark('all panels');
    };
    new MutationObserver(check).observe(document, {subtree: true, childList: true});
    document.addEventListener('DOMContentLoaded', check);
    setInterval(check, 10);
}"""


def view(browser: Any, url: str, charts: int = CHARTS) -> dict[str, Any]:
    """One view of the page in a fresh context; ms per phase from navigation start."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.add_init_script(f"({_OBSERVER.replace('CHARTS', str(charts))})()")
        page.goto(url)
        page.wait_for_function(
            f"() => Object.keys(window.unitEconomics ?? {{}}).length >= {charts}", timeout=600_000
        )
        page.wait_for_timeout(100)
        raw = page.evaluate(_TIMINGS)
    finally:
        context.close()
    marks = raw["marks"]
    return {
        "html": raw["html"],
        "headline (server)": marks.get("headline (server)"),
        "script": raw["script"],
        "figures": raw["figures"],
        "headline (page)": marks.get("headline (page)"),
        "all panels": marks.get("all panels"),
        "script bytes": raw["scriptBytes"],
        "requests": raw["requests"],
    }


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:8.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ledger", nargs="?", default="ledger/main.beancount", type=Path)
    parser.add_argument("--filter", default="", help="query string of Fava's filters, e.g. time=2026-Q3")
    parser.add_argument("--repeat", type=int, default=3, help="views (the first is cold)")
    parser.add_argument("--requests", action="store_true", help="also list each request's start and end")
    parser.add_argument(
        "--wait", type=float, default=0.0, help="seconds between Fava answering and the first view"
    )
    parser.add_argument(
        "--charts", type=int, default=CHARTS, help="charts the page draws (6 before the headline change)"
    )
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with fava(args.ledger) as (url, loaded), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            target = f"{url}?{args.filter}" if args.filter else url
            time.sleep(args.wait)
            views = [view(browser, target, args.charts) for _ in range(args.repeat)]
        finally:
            browser.close()
    print(f"ledger {args.ledger}  filter {args.filter or '(none)'}  Fava answered after {loaded:.1f} s")
    size = views[0]["script bytes"]
    print(f"page scripts: {size / 1e6:.2f} MB" if size else "page scripts: size unknown")
    warm_columns = " ".join(f"{'warm':>8}" for _ in views[1:])
    print(f"{'phase (ms from navigation start)':36} {'cold':>8} {warm_columns}")
    for phase in PHASES:
        print(f"{phase:36} " + " ".join(_ms(v[phase]) for v in views))
    if args.requests:
        for number, result in enumerate(views):
            print(f"view {number + 1}: request (start ms, end ms)")
            for name, begin, end in result["requests"]:
                print(f"  {begin:7} {end:7}  {name}")
    warm = [v["all panels"] for v in views[1:] if v["all panels"] is not None]
    if warm:
        print(f"all panels, warm median: {statistics.median(warm):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

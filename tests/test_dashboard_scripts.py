"""The Unit economics page's scripts: the committed ECharts build and what the page asks the server for.

- ``dashboard/static/echarts.min.js`` is the file whose SHA-256 ``dashboard/static/README.md``
  states (read from the README: one digest, written once);
- where npm is on the machine and the registry answers, the README's recipe
  (``npm ci``, ``npm run build`` in a copy of ``dashboard/static/build``) makes
  the committed file again, byte for byte (skipped, with the reason, when npm,
  the registry or the recipe is missing: never failed for being offline);
- every endpoint the page's scripts fetch (``v2_...``, ``script?name=``) is one the
  extension serves, and every saved query of the page's ``const Q`` table is
  either one ``v2_saved_query`` runs (the names the page fetches that way) or one
  the ``v2_unit_economics`` answer is computed from.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import fava.application
import pytest

from ailab_books.dashboard.extension import SCRIPTS
from ailab_books.dashboard.figures import SAVED_QUERIES
from ailab_books.queries.monthly import QUERIES as SUMMARY_QUERIES

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "dashboard" / "static"
BUILD = STATIC / "build"
ECHARTS = STATIC / "echarts.min.js"
PAGE = STATIC / "unit-economics.js"
MODULE = ROOT / "dashboard" / "UnitEconomics.js"
#: What the recipe needs besides npm (static/README.md, "Rebuilding ECharts").
RECIPE = ("package.json", "package-lock.json", "echarts-entry.js")
#: What npm prints when it cannot reach the registry: the rebuild is skipped, not failed.
OFFLINE = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "ENETUNREACH", "network")
NPM_TIMEOUT = 600


def readme_sha256() -> str:
    """The one SHA-256 the static README states for the committed build."""
    digests = re.findall(r"`([0-9a-f]{64})`", (STATIC / "README.md").read_text(encoding="utf-8"))
    assert len(digests) == 1, f"static/README.md should state one SHA-256, not {digests}"
    return digests[0]


def test_echarts_build_is_the_one_the_readme_states() -> None:
    assert hashlib.sha256(ECHARTS.read_bytes()).hexdigest() == readme_sha256()


def test_the_build_recipe_is_committed() -> None:
    missing = [name for name in RECIPE if not (BUILD / name).is_file()]
    assert not missing, f"dashboard/static/build lacks {missing}"


def _npm(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``npm ARGS`` in ``cwd``; skips the test when the registry cannot be reached or npm hangs."""
    npm = shutil.which("npm")
    assert npm is not None
    try:
        done = subprocess.run(
            [npm, *args], cwd=cwd, capture_output=True, text=True, timeout=NPM_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm {' '.join(args)} took over {NPM_TIMEOUT} s (no registry?)")
    if done.returncode != 0 and any(word in done.stdout + done.stderr for word in OFFLINE):
        pytest.skip(f"npm {' '.join(args)} cannot reach the registry: {done.stderr.strip()[-300:]}")
    return done


def test_rebuilding_echarts_gives_the_committed_file(tmp_path: Path) -> None:
    """The README's recipe, in a copy of build/ (its ``../echarts.min.js`` is the copy's)."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not on PATH: the ECharts build is not rebuilt here")
    missing = [name for name in RECIPE if not (BUILD / name).is_file()]
    if missing:
        pytest.skip(f"the build recipe is not in this checkout (dashboard/static/build lacks {missing})")
    build = tmp_path / "static" / "build"
    shutil.copytree(BUILD, build, ignore=shutil.ignore_patterns("node_modules"))
    installed = _npm(["ci", "--no-audit", "--no-fund"], build)
    assert installed.returncode == 0, (installed.stdout[-2000:], installed.stderr[-2000:])
    built = _npm(["run", "build"], build)
    assert built.returncode == 0, (built.stdout[-2000:], built.stderr[-2000:])
    rebuilt = tmp_path / "static" / "echarts.min.js"
    assert hashlib.sha256(rebuilt.read_bytes()).hexdigest() == readme_sha256()
    assert rebuilt.read_bytes() == ECHARTS.read_bytes()


# ------------------------------------------------------------------ what the page asks for


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The endpoint names the extension registers with Fava, for small books that load it."""
    main = tmp_path_factory.mktemp("scripts") / "main.beancount"
    main.write_text(
        'option "operating_currency" "USD"\n'
        '2025-01-01 custom "fava-extension" "ailab_books.dashboard.extension"\n',
        encoding="utf-8",
    )
    app = fava.application.create_app([str(main)], poll_watcher=True)
    (ledger,) = app.config["LEDGERS"].ledgers_by_slug.values()
    extension = ledger.extensions.get_extension("UnitEconomics")
    assert extension is not None, ledger.errors
    return {name for name, _method in extension.endpoints}


def _page_queries() -> dict[str, str]:
    """The page's ``const Q = {...}`` table: key -> saved query name."""
    table = re.search(r"const Q = \{(.*?)\};", PAGE.read_text(encoding="utf-8"), re.S)
    assert table, "static/unit-economics.js has no `const Q = {...}` table"
    return dict(re.findall(r'(\w+):\s*"([^"]+)"', table.group(1)))


@pytest.mark.parametrize("script", [PAGE, MODULE], ids=lambda path: path.name)
def test_every_endpoint_the_page_fetches_is_served(served: set[str], script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    fetched = set(re.findall(r"\b(v\d+_\w+)", text))
    assert fetched <= served, f"{script.name} fetches what the extension does not serve: {fetched - served}"
    if script == PAGE:
        assert {"v2_unit_economics", "v2_saved_query", "v2_model_pnl"} <= fetched
    else:
        assert "script" in served
        # The module imports the scripts from the URLs the server writes in the page's facts
        # (``page_ledger()["scripts"]``, one per name of ``SCRIPTS``).
        names = set(re.findall(r"\bbooks\.scripts\.(\w+)", text))
        assert names == set(SCRIPTS), (names, sorted(SCRIPTS))
        assert 'const EXTENSION = "UnitEconomics"' in text


def test_every_saved_query_of_the_page_is_answered() -> None:
    """A name the page runs through ``v2_saved_query`` is in its list (else the panel gets "unknown
    saved query"); the others are the queries the ``v2_unit_economics`` summary answers."""
    text = PAGE.read_text(encoding="utf-8")
    queries = _page_queries()
    check = re.search(r'const CHECK = "([^"]+)";', text)
    assert check, "static/unit-economics.js has no `const CHECK`"
    calls = re.findall(r"(?<!function )\b(?:runSaved|filteredRows)\(\s*ledger,\s*([^)]+?)\s*\)", text)
    # Every call names a table entry or the books check (``query`` is filteredRows' own parameter).
    assert set(calls) - {"query"} <= {f"Q.{key}" for key in queries} | {"CHECK"}, calls
    run = {queries[call[2:]] for call in calls if call.startswith("Q.")}
    assert run, "the page runs none of its table's queries through v2_saved_query (the regex is stale?)"
    run.add(check.group(1))
    assert run <= SAVED_QUERIES.keys(), run - SAVED_QUERIES.keys()
    summarised = set(queries.values()) - run
    assert summarised and summarised <= SUMMARY_QUERIES.keys(), summarised - SUMMARY_QUERIES.keys()

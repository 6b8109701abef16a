"""DuckDB and Spark run the one aggregation (importers/usage_sql.py): their entries are byte-identical.

One local Spark session for the module (starting a JVM costs seconds). Skipped,
saying why, only where pyspark or Java is missing; CI installs both
(`.ci/run`: Debian's default-jre-headless and `pip install '.[test,spark]'`).
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from beancount.parser import printer

from ailab_books.importers.config import load_config
from ailab_books.importers.errors import FeedProblem, FeedRejected
from ailab_books.importers.usage import aggregate
from ailab_books.importers.usage_settings import UsageSettings, usage_settings

# pyspark's own import-time check of the pandas version; nothing here uses pandas.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "importers" / "samples" / "usage"

# Skipped on a machine without pyspark or Java; CI (.ci/run, CI=true) installs both, so there a
# missing one is a failure, not a silent skip of the engine-equality check.
_MISSING = (
    "pyspark is not installed (pip install '.[spark]')"
    if importlib.util.find_spec("pyspark") is None
    else "no Java runtime on PATH (Spark needs one: apt-get install default-jre-headless)"
    if shutil.which("java") is None
    else None
)
if _MISSING is not None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{_MISSING}; .ci/run installs it", pytrace=False)
    pytest.skip(_MISSING, allow_module_level=True)


@pytest.fixture(scope="module")
def spark() -> Iterator[None]:
    """One local session for every test here; the engine reuses it (SparkSession.builder.getOrCreate)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("test_import_usage_spark")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield
    session.stop()


def text(sources: list[str], usage: UsageSettings, engine: str) -> str:
    buffer = io.StringIO()
    printer.print_entries(aggregate(sources, usage, engine), file=buffer)  # type: ignore[no-untyped-call]
    return buffer.getvalue()


def problems(sources: list[str], usage: UsageSettings, engine: str) -> list[FeedProblem]:
    with pytest.raises(FeedRejected) as caught:
        aggregate(sources, usage, engine)
    return caught.value.problems


@pytest.fixture
def usage(tmp_path: Path) -> UsageSettings:
    config = tmp_path / "imports.toml"
    config.write_text(
        (ROOT / "importers" / "samples" / "imports.toml")
        .read_text(encoding="utf-8")
        .replace('output = "1"', 'output = "1"\ncached-input = "0.25"'),
        encoding="utf-8",
    )
    return usage_settings(load_config(config))


@pytest.mark.usefixtures("spark")
def test_both_samples_together_give_byte_identical_entries(usage: UsageSettings) -> None:
    sources = [str(SAMPLES / "requests-2026-11.parquet"), str(SAMPLES / "requests-2026-12.csv")]
    duck = text(sources, usage, "duckdb")
    assert duck.count("import-id") == 16
    assert 'tokens: "input + 0.25 * cached-input + output"' in duck
    assert text(sources, usage, "spark") == duck


@pytest.mark.usefixtures("spark")
def test_zoned_text_and_mixed_timestamps_give_the_same_months(usage: UsageSettings, tmp_path: Path) -> None:
    header = "timestamp,model,tier,customer,input_tokens,cached_input_tokens,output_tokens,requests\n"
    log = tmp_path / "edges.csv"
    log.write_text(
        header
        + "2026-12-01T00:30:00+01:00,orion-4,api,a,1000000,0,1,1\n"  # November in UTC
        + "2026-11-30 23:59:59,wren-3,free,a,7,0,0,1\n"
        + "2026-12-01,wren-3,free,a,5,0,0,1\n",
        encoding="utf-8",
    )
    zoned = tmp_path / "zoned.parquet"
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            f"COPY (SELECT CAST(timestamp AS TIMESTAMPTZ) AS timestamp, * EXCLUDE (timestamp) "
            f"FROM read_csv('{log}', all_varchar = true)) TO '{zoned}' (FORMAT parquet)"
        )
    for sources in ([str(log)], [str(zoned)], [str(zoned), str(SAMPLES / "requests-2026-11.parquet")]):
        duck = text(sources, usage, "duckdb")
        assert 'import-id: "usage/2026-11/API/Orion"' in duck
        assert text(sources, usage, "spark") == duck


@pytest.mark.usefixtures("spark")
def test_the_same_bad_rows_are_reported_by_both(usage: UsageSettings, tmp_path: Path) -> None:
    header = "timestamp,model,tier,customer,input_tokens,cached_input_tokens,output_tokens,requests\n"
    log = tmp_path / "log.csv"
    log.write_text(
        header
        + "2026-11-03T10:00:00Z,orion-4,api,acme,1000,200,300,1\n"
        + "2026-11-03T10:00:00Z,orion-5,api,acme,1,1,1,1\n"
        + '2026-11-03T10:00:00Z,orion-4,api,"Acme\nLtd",1.5,1,1,1\n'
        + "2026-11-31T10:00:00Z,orion-4,api,acme,1,1,1,1\n"
        + "2026-11-03T10:00:00Z,orion-4,free,acme,1,-1,1,1\n"
        + '2026-11,orion-4,api,"Acme ""Labs""",1,1,1,1\n',
        encoding="utf-8",
    )
    bad_parquet = tmp_path / "log.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            "COPY (SELECT TIMESTAMP '2026-11-01' + INTERVAL (i) HOUR AS timestamp, 'orion-4' AS model, "
            "CASE WHEN i = 3 THEN NULL ELSE 'api' END AS tier, i AS input_tokens, 0 AS cached_input_tokens, "
            f"1 AS output_tokens, 1 AS requests FROM range(5) AS t(i)) TO '{bad_parquet}' (FORMAT parquet)"
        )
    sources = [str(log), str(bad_parquet)]
    found = problems(sources, usage, "duckdb")
    assert [(problem.filename, problem.row) for problem in found] == [
        (str(log), 3),
        (str(log), 4),
        (str(log), 6),
        (str(log), 7),
        (str(log), 8),
        (str(bad_parquet), 4),
    ]
    assert problems(sources, usage, "spark") == found

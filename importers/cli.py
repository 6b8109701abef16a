"""`lab-import`: the monthly close's entry point, on beangulp's Ingest.

    lab-import --config imports.toml identify DIR
    lab-import --config imports.toml extract DIR -e ledger/main.beancount -o new.beancount
    lab-import --config imports.toml archive DIR -o documents/

`identify` and `archive` are beangulp's own commands. `extract` is this
module's: it reads every file before writing anything, and if any file is
refused (a FeedRejected), a configured account is missing or two exports
disagree about one import-id, it prints every problem as `file:row: message` on
stderr, exits with status 1 and writes no output file. Otherwise the output is
written to a temporary file beside the target and renamed over it, so a reader
never sees half a file. Entries already in the books (same import-id, same
figures) are written commented out, as beangulp does with duplicates.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import beangulp
import click
from beancount import loader
from beancount.core import data
from beangulp import extract as beangulp_extract
from beangulp import identify as beangulp_identify
from beangulp import utils as beangulp_utils

from .base import FeedImporter
from .config import ConfigError, ImportConfig, load_config
from .errors import FeedProblem, FeedRejected
from .registry import build_importers

# The feeds that take --export-time and --period.
SCHEDULER_FEEDS = ("slurm", "opencost")
# Files that sit beside the feeds and are never feeds: not worth a notice when skipped.
NOT_FEEDS = (".beancount", ".bean", ".toml", ".md")
# Books with more errors than this are summarised, not listed.
SHOWN_LEDGER_ERRORS = 10


class Failure(Exception):
    """Problems that stop the run: printed one per line, exit status 1."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


def with_overrides(config: ImportConfig, export_time: datetime | None, period: str | None) -> ImportConfig:
    """The configuration with `--export-time` and `--period` written into the scheduler feeds' tables."""
    overrides: dict[str, object] = {}
    if export_time is not None:
        overrides["export-time"] = export_time
    if period is not None:
        overrides["period"] = period
    if not overrides:
        return config
    sections = dict(config.sections)
    for feed in SCHEDULER_FEEDS:
        if feed in sections:
            sections[feed] = {**sections[feed], **overrides}
    # The usage logs take --period too (a log's months are its rows'); they have no running jobs.
    if period is not None and "usage" in sections:
        sections["usage"] = {**sections["usage"], "period": period}
    return dataclasses.replace(config, sections=sections)


def load_books(ledger: Path) -> list[data.Directive]:
    """The books' entries; books that do not load cleanly are refused (dedup would be blind)."""
    if not ledger.is_file():
        raise Failure([f"{ledger}: the books' main file (ledger, or -e) does not exist"])
    entries, errors, _ = loader.load_file(str(ledger))
    if errors:
        count = f"{len(errors)} error{'s' if len(errors) > 1 else ''}"
        lines = [f"{ledger}: the books have {count}; fix them (bean-check) before importing:"]
        for error in errors[:SHOWN_LEDGER_ERRORS]:
            source = error.source or {}
            lines.append(f"{source.get('filename', ledger)}:{source.get('lineno', 0)}: {error.message}")
        raise Failure(lines)
    return list(entries)


def feed_files(sources: Sequence[str]) -> Iterator[str]:
    """Every file under the given files and directories, in beangulp's (sorted) walk order."""
    yield from beangulp_utils.walk(list(sources))


def progress(files: list[str]) -> Iterator[str]:
    """The files, with a bar on stderr when stderr is a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        yield from files
        return
    with click.progressbar(files, label="lab-import", file=sys.stderr) as bar:
        yield from bar


Extracted = tuple[str, list[data.Directive], str, FeedImporter]


def extract_all(
    importers: Sequence[FeedImporter],
    sources: Sequence[str],
    existing: list[data.Directive],
    notices: list[str],
) -> list[Extracted]:
    """Every identified file's entries, deduplicated in beangulp's order; Failure listing every problem.

    A file no importer identifies is named in `notices` (a feed whose header was
    mangled must not vanish without a word), except the books, configuration and
    notes that live beside the feeds (NOT_FEEDS).
    """
    problems: list[FeedProblem] = []
    extracted: list[Extracted] = []
    for filename in progress(list(feed_files(sources))):
        try:
            importer = beangulp_identify.identify(importers, filename)
        except beangulp.exceptions.Error as error:
            problems.append(FeedProblem(filename, None, str(error).replace("\n", " ")))
            continue
        if importer is None:
            if Path(filename).suffix not in NOT_FEEDS and not Path(filename).name.startswith("."):
                notices.append(f"{filename}: skipped: no configured importer identifies it")
            continue
        try:
            entries = beangulp_extract.extract_from_file(importer, filename, existing)
        except FeedRejected as rejected:
            problems.extend(rejected.problems)
            continue
        extracted.append((filename, entries, importer.account(filename), importer))
    if problems:
        raise Failure([str(problem) for problem in problems])
    beangulp_extract.sort_extracted_entries(extracted)
    seen = list(existing)
    for _, entries, _, importer in extracted:
        try:
            importer.deduplicate(entries, seen)
        except FeedRejected as rejected:
            problems.extend(rejected.problems)
            continue
        seen.extend(entries)
    if problems:
        raise Failure([str(problem) for problem in problems])
    return extracted


def write_atomically(output: str | None, extracted: list[Extracted]) -> None:
    """The extracted entries to `output` (stdout for None or '-'), all at once."""
    buffer = io.StringIO()
    beangulp_extract.print_extracted_entries(extracted, buffer)
    if output is None or output == "-":
        sys.stdout.write(buffer.getvalue())
        return
    target = Path(output)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(buffer.getvalue())
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


@click.command("extract")
@click.argument("src", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Output file (default: stdout).")
@click.option(
    "--existing",
    "-e",
    type=click.Path(exists=True, dir_okay=False),
    help="The books, for deduplication and account checks (default: the configuration's `ledger`).",
)
@click.option(
    "--export-time",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
    help="When the scheduler exports were taken (UTC): running jobs are cut there. Overrides the "
    "configuration's export-time.",
)
@click.option(
    "--period",
    type=click.DateTime(formats=["%Y-%m"]),
    help="Keep only this month of the scheduler exports (jobs running across it are clipped to it) "
    "and of the usage logs. "
    "Overrides the configuration's period.",
)
@click.pass_obj
def extract_command(
    state: State,
    src: tuple[str, ...],
    output: str | None,
    existing: str | None,
    export_time: datetime | None,
    period: datetime | None,
) -> None:
    """Extract entries from the feed files under SRC; all or nothing."""
    config = with_overrides(state.config, export_time, f"{period:%Y-%m}" if period else None)
    importers = build_importers(config)
    ledger = Path(existing) if existing else config.ledger
    books = load_books(ledger) if ledger is not None else []
    notices: list[str] = []
    try:
        extracted = extract_all(importers, src, books, notices)
    finally:
        report(notices, sys.stderr)
    write_atomically(output, extracted)


@dataclasses.dataclass
class State:
    """What beangulp's commands read from the click context (`importers`, `hooks`), and the config."""

    config: ImportConfig
    importers: list[FeedImporter]
    hooks: list[Any] = dataclasses.field(default_factory=list)


def make_cli() -> click.Group:
    """The `lab-import` command group: --config, then beangulp's identify/archive and our extract."""

    @click.group("lab-import")
    @click.option(
        "--config",
        "-c",
        "config_path",
        required=True,
        type=click.Path(exists=True, dir_okay=False),
        help="The TOML configuration (feeds, mappings, the books).",
    )
    @click.pass_context
    def cli(context: click.Context, config_path: str) -> None:
        """Import the lab's feeds (timesheets, scheduler accounting, ...) into the books."""
        config = load_config(config_path)
        context.obj = State(config, build_importers(config))

    commands = beangulp.Ingest([]).cli.commands
    cli.add_command(commands["identify"])
    cli.add_command(commands["archive"])
    cli.add_command(extract_command)
    return cli


def report(lines: Sequence[str], stream: TextIO) -> None:
    for line in lines:
        print(line, file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: problems as `file:row: message` lines on stderr, never a traceback."""
    cli = make_cli()
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="lab-import", standalone_mode=False)
    except click.exceptions.Abort:
        print("lab-import: aborted", file=sys.stderr)
        return 1
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except (ConfigError, FeedRejected) as error:
        report(str(error).splitlines(), sys.stderr)
        return 1
    except Failure as failure:
        report(failure.lines, sys.stderr)
        return 1
    except SystemExit as exit_:  # beangulp's identify/archive exit with 1 after listing errors
        return exit_.code if isinstance(exit_.code, int) else 1
    except Exception as error:  # a defect of lab-import itself: one line, the traceback on request
        if os.environ.get("LAB_IMPORT_TRACEBACK"):
            raise
        print(
            f"lab-import: internal error ({type(error).__name__}: {error}); nothing was written. "
            "Set LAB_IMPORT_TRACEBACK=1 to see where, and report it.",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Books loaded without their plugins, or with them in the wrong order, are refused.

- ``ailab_books.plugins.pipeline`` knows the pipeline: classify always,
  allocate whenever there are ``custom "allocate"`` rules, allocate first;
- the classify plugin reports what it can see (allocate after it; rules but no
  allocate) as an error at the first rule, so bean-check and Fava flag it;
- ``lab-report`` refuses such books with one line naming the ``plugin`` line to
  add, and exit status 1 (with both lines missing no plugin runs at all, so
  this is the only place besides the dashboard that can tell).

Each case runs on a small ledger written here, and the lab-report cases also
on copies of the example books (whose October 2026 gross margin per Mtok reads
1.64 instead of 0.93 without the plugins).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from beancount import loader

from ailab_books.plugins.pipeline import (
    ALLOCATE,
    AMORTISE,
    CLASSIFY,
    DEPRECIATE,
    PipelineError,
    PipelineProblem,
    books_problem,
    pipeline_problem,
)
from ailab_books.queries.report import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "ledger" / "main.beancount"
ALLOCATE_LINE = f'plugin "{ALLOCATE}"'
CLASSIFY_LINE = f'plugin "{CLASSIFY}"'
DEPRECIATE_LINE = f'plugin "{DEPRECIATE}"'
AMORTISE_LINE = f'plugin "{AMORTISE}"'

#: Plugin lines per case: what each main file says, in order.
CASES = {
    "in order": [DEPRECIATE_LINE, ALLOCATE_LINE, CLASSIFY_LINE],
    "none": [],
    "classify only": [CLASSIFY_LINE],
    "allocate only": [ALLOCATE_LINE],
    "wrong order": [CLASSIFY_LINE, ALLOCATE_LINE],
}

#: Plugin lines of the depreciation cases, for the example books only (the tiny lab has no asset).
DEPRECIATION_CASES = {
    "no depreciate": [ALLOCATE_LINE, CLASSIFY_LINE],
    "depreciate late": [ALLOCATE_LINE, DEPRECIATE_LINE, CLASSIFY_LINE],
}

# A tiny lab: one pool split by GPU-hours. The rule is on line 12 of the file
# written by `tiny` (after the plugin lines, which sit in main.beancount).
TINY = """\
option "operating_currency" "USD"
2025-01-01 commodity GPUH
2025-01-01 open Assets:Bank USD
2025-01-01 open Income:API:Orion USD
2025-01-01 open Expenses:Shared:Power USD
2025-01-01 open Expenses:COGS:Inference:Power:API:Orion USD
2025-01-01 open Expenses:RnD:Training:Power USD
2025-01-01 open Equity:Stats:GPUH:Serving GPUH
2025-01-01 open Equity:Stats:GPUH:Training GPUH
2025-01-01 open Equity:Stats:Offset GPUH

2025-01-01 custom "allocate" Expenses:Shared:Power Equity:Stats:GPUH
  serving: Expenses:COGS:Inference:Power:API:Orion
  training: Expenses:RnD:Training:Power

2025-01-31 * "Scheduler" "GPU-hours, January"
  Equity:Stats:GPUH:Serving    30 GPUH
  Equity:Stats:GPUH:Training   70 GPUH
  Equity:Stats:Offset        -100 GPUH

2025-01-31 * "Utility" "Power, January"
  Expenses:Shared:Power   100.00 USD
  Assets:Bank

2025-01-31 * "Billing" "Revenue, January"
  Income:API:Orion       -500.00 USD
  Assets:Bank
"""
RULE_LINE = 12


def tiny(tmp_path: Path, case: str, *, rules: bool = True) -> Path:
    """The tiny lab, with the plugin lines of ``case`` in its main file."""
    books = tmp_path / "books.beancount"
    text = TINY if rules else re.sub(r'2025-01-01 custom "allocate".*?\n\n', "\n\n", TINY, flags=re.S)
    books.write_text(text, encoding="utf-8")
    main_file = tmp_path / f"main-{case.replace(' ', '-')}.beancount"
    main_file.write_text("\n".join([*CASES[case], 'include "books.beancount"', ""]), encoding="utf-8")
    return main_file


def example_with(tmp_path: Path, case: str) -> Path:
    """A copy of the example's main file with the plugin lines of ``case``, includes made absolute."""
    lines = [*(CASES[case] if case in CASES else DEPRECIATION_CASES[case])]
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("plugin "):
            continue
        match = re.match(r'include "(.*)"', line)
        if match:
            line = f'include "{(EXAMPLE.parent / match.group(1)).resolve()}"'
        lines.append(line)
    main_file = tmp_path / f"example-{case.replace(' ', '-')}.beancount"
    main_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return main_file


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("plugins", "has_rules", "wanted"),
    [
        ([ALLOCATE, CLASSIFY], True, None),
        ([CLASSIFY], False, None),
        ([ALLOCATE, CLASSIFY], False, None),
        ([CLASSIFY, ALLOCATE], False, None),  # no rule: allocate makes nothing to classify
        (["beancount.plugins.auto_accounts", ALLOCATE, "x.y", CLASSIFY], True, None),
        ([], True, f"add the two lines {ALLOCATE_LINE} then {CLASSIFY_LINE} at the top of main.beancount"),
        ([], False, f"add the line {CLASSIFY_LINE} at the top of main.beancount"),
        ([ALLOCATE], True, f"add the line {CLASSIFY_LINE} after {ALLOCATE_LINE} in main.beancount"),
        ([CLASSIFY], True, f"add the line {ALLOCATE_LINE} above {CLASSIFY_LINE} in main.beancount"),
        ([CLASSIFY, ALLOCATE], True, f"put {ALLOCATE_LINE} above {CLASSIFY_LINE} in main.beancount"),
        (
            [ALLOCATE, CLASSIFY, ALLOCATE],
            True,
            f"put {ALLOCATE_LINE} above {CLASSIFY_LINE} in main.beancount",
        ),
        # The names before the move under ailab_books, and typos.
        (
            ["plugins.allocate", CLASSIFY],
            True,
            f'replace plugin "plugins.allocate" with {ALLOCATE_LINE} in main.beancount',
        ),
        (
            [ALLOCATE, "plugins.classify"],
            True,
            f'replace plugin "plugins.classify" with {CLASSIFY_LINE} in main.beancount',
        ),
        (
            [ALLOCATE, "ailab_books.plugins.clasify"],
            False,
            f'replace plugin "ailab_books.plugins.clasify" with {CLASSIFY_LINE} in main.beancount',
        ),
        (["plugins.allocate", CLASSIFY], False, None),  # no rule: allocate is not needed
        # A view's optional plugins, in their order: accepted.
        ([DEPRECIATE, ALLOCATE, CLASSIFY], True, None),
        ([ALLOCATE, AMORTISE, CLASSIFY], True, None),
        ([DEPRECIATE, ALLOCATE, AMORTISE, CLASSIFY], True, None),
        (["beancount.plugins.auto_accounts", DEPRECIATE, ALLOCATE, CLASSIFY], True, None),
        # ... and out of it: refused.
        (
            [ALLOCATE, DEPRECIATE, CLASSIFY],
            True,
            f"put {DEPRECIATE_LINE} above {ALLOCATE_LINE} in main.beancount",
        ),
        (
            [ALLOCATE, CLASSIFY, DEPRECIATE],
            True,
            f"put {DEPRECIATE_LINE} above {ALLOCATE_LINE} in main.beancount",
        ),
        ([CLASSIFY, DEPRECIATE], False, f"put {DEPRECIATE_LINE} above {CLASSIFY_LINE} in main.beancount"),
        (
            [AMORTISE, ALLOCATE, CLASSIFY],
            True,
            f"put {ALLOCATE_LINE} above {AMORTISE_LINE} in main.beancount",
        ),
        (
            [ALLOCATE, CLASSIFY, AMORTISE],
            True,
            f"put {AMORTISE_LINE} above {CLASSIFY_LINE} in main.beancount",
        ),
        # An unknown plugin of the project's own: a typo is named, anything else is to be removed.
        (
            ["ailab_books.plugins.depreciation", ALLOCATE, CLASSIFY],
            True,
            f'replace plugin "ailab_books.plugins.depreciation" with {DEPRECIATE_LINE} in main.beancount',
        ),
        (
            [ALLOCATE, "ailab_books.plugins.rounding", CLASSIFY],
            True,
            'remove plugin "ailab_books.plugins.rounding" from main.beancount',
        ),
    ],
)
def test_pipeline_rule(plugins: list[str], has_rules: bool, wanted: str | None) -> None:
    problem = pipeline_problem(plugins, has_rules, "main.beancount")
    if wanted is None:
        assert problem is None
    else:
        assert isinstance(problem, PipelineProblem)
        assert problem.fix == wanted
        assert str(problem).endswith(f"; {wanted}")


def test_pipeline_problem_names_what_is_wrong() -> None:
    wrong = pipeline_problem([CLASSIFY, ALLOCATE], True, "main.beancount")
    assert wrong is not None and wrong.problem == (
        f"the plugins run in the wrong order: {CLASSIFY} runs before {ALLOCATE}, "
        "so the allocation entries get no cost class"
    )
    late = pipeline_problem([ALLOCATE, DEPRECIATE, CLASSIFY], True, "main.beancount")
    assert late is not None and late.problem == (
        f"the plugins run in the wrong order: {ALLOCATE} runs before {DEPRECIATE}, "
        "so the depreciation it charges to a shared pool stays there, unsplit"
    )
    unknown = pipeline_problem([ALLOCATE, "ailab_books.plugins.rounding", CLASSIFY], True, "main.beancount")
    assert unknown is not None and unknown.problem == (
        'the main file names the plugin "ailab_books.plugins.rounding", which is not one of the '
        f"books' plugins ({DEPRECIATE}, {ALLOCATE}, {AMORTISE}, {CLASSIFY})"
    )
    missing = pipeline_problem([CLASSIFY], True, "main.beancount")
    assert missing is not None and missing.problem == (
        f'the books have allocation rules (custom "allocate") but were loaded without {ALLOCATE}, '
        "so the shared pools are not split"
    )


# --------------------------------------------------------------------------- bean-check (the classify plugin)


@pytest.mark.parametrize(
    ("case", "fix"),
    [
        ("wrong order", f"put {ALLOCATE_LINE} above {CLASSIFY_LINE} in main-wrong-order.beancount"),
        (
            "classify only",
            f"add the line {ALLOCATE_LINE} above {CLASSIFY_LINE} in main-classify-only.beancount",
        ),
    ],
)
def test_classify_reports_at_the_first_rule(tmp_path: Path, case: str, fix: str) -> None:
    main_file = tiny(tmp_path, case)
    _, errors, _ = loader.load_file(str(main_file))
    pipeline_errors = [error for error in errors if isinstance(error, PipelineError)]
    assert len(pipeline_errors) == 1, [error.message for error in errors]
    (error,) = pipeline_errors
    assert error.source["filename"] == str(tmp_path / "books.beancount")
    assert error.source["lineno"] == RULE_LINE
    assert error.message.endswith(fix)
    assert error.message[0].isupper()


@pytest.mark.parametrize("case", ["in order", "none", "allocate only"])
def test_classify_reports_nothing_it_cannot_see(tmp_path: Path, case: str) -> None:
    # In order: nothing wrong. None / allocate only: classify does not run, so
    # nothing reports it in bean-check (lab-report and the dashboard do).
    _, errors, _ = loader.load_file(str(tiny(tmp_path, case)))
    assert [error for error in errors if isinstance(error, PipelineError)] == []


def test_classify_without_rules_needs_no_allocate(tmp_path: Path) -> None:
    _, errors, _ = loader.load_file(str(tiny(tmp_path, "classify only", rules=False)))
    assert errors == []


def test_classify_called_directly_reports_nothing(tmp_path: Path) -> None:
    # Outside the loader (no plugin list), the caller chooses the order.
    from ailab_books.plugins.classify import classify

    entries, _, options_map = loader.load_file(str(tiny(tmp_path, "none")))
    _, errors = classify(entries, options_map)
    assert errors == []


def test_books_problem_defaults_to_the_loaded_file(tmp_path: Path) -> None:
    entries, _, options_map = loader.load_file(str(tiny(tmp_path, "allocate only")))
    problem = books_problem(entries, options_map)
    assert problem is not None
    assert (
        problem.fix == f"add the line {CLASSIFY_LINE} after {ALLOCATE_LINE} in main-allocate-only.beancount"
    )


# --------------------------------------------------------------------------- lab-report


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err.splitlines()


@pytest.mark.parametrize(
    ("case", "wanted"),
    [
        (
            "none",
            "the books were loaded without their plugins (allocation and cost classes), so the shared "
            "pools are not split and no cost has a class; add the two lines "
            f"{ALLOCATE_LINE} then {CLASSIFY_LINE} at the top of {{main}}",
        ),
        (
            "allocate only",
            f"the books were loaded without {CLASSIFY}, which gives every cost its class (the reports "
            f"read nothing else); add the line {CLASSIFY_LINE} after {ALLOCATE_LINE} in {{main}}",
        ),
        (
            "classify only",
            'the books have allocation rules (custom "allocate") but were loaded without '
            f"{ALLOCATE}, so the shared pools are not split; add the line {ALLOCATE_LINE} above "
            f"{CLASSIFY_LINE} in {{main}}",
        ),
        (
            "wrong order",
            f"the plugins run in the wrong order: {CLASSIFY} runs before {ALLOCATE}, so the allocation "
            f"entries get no cost class; put {ALLOCATE_LINE} above {CLASSIFY_LINE} in {{main}}",
        ),
    ],
)
@pytest.mark.parametrize("books", ["tiny", "example"])
def test_lab_report_refuses_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str, wanted: str, books: str
) -> None:
    main_file = tiny(tmp_path, case) if books == "tiny" else example_with(tmp_path, case)
    target = tmp_path / "report.csv"
    status, out, err = report(capsys, str(main_file), "--output", str(target))
    assert status == 1 and out == ""
    assert err == ["lab-report: " + wanted.format(main=main_file)]
    assert not target.exists()


@pytest.mark.parametrize("books", ["tiny", "example"])
def test_lab_report_runs_books_loaded_in_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, books: str
) -> None:
    main_file = tiny(tmp_path, "in order") if books == "tiny" else example_with(tmp_path, "in order")
    status, out, err = report(capsys, str(main_file), "--format", "csv", "--to", "2025-01")
    assert status == 0 and err == []
    assert out.splitlines()[1].startswith("2025-01,")


def test_other_errors_are_printed_before_the_refusal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main_file = tiny(tmp_path, "none")
    books = tmp_path / "books.beancount"
    books.write_text(
        books.read_text(encoding="utf-8")
        + '\n2025-02-01 * "Typo"\n  Expenses:Unopened 1.00 USD\n  Assets:Bank\n'
    )
    status, _, err = report(capsys, str(main_file))
    assert status == 1
    assert len(err) == 2, err
    assert err[0].startswith(f"{books}:29: ") and "Expenses:Unopened" in err[0]
    assert err[1].startswith("lab-report: the books were loaded without their plugins")


def test_ledger_without_transactions_needs_no_plugin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.beancount"
    empty.write_text('option "operating_currency" "USD"\n2025-01-01 open Assets:Bank USD\n')
    status, out, err = report(capsys, str(empty))
    assert (status, out) == (1, "")
    assert err == [f"lab-report: {empty} has no transactions: nothing to report"]


def test_old_plugin_name_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main_file = tiny(tmp_path, "in order")
    main_file.write_text(main_file.read_text().replace(ALLOCATE_LINE, 'plugin "plugins.allocate"'))
    status, out, err = report(capsys, str(main_file))
    assert (status, out) == (1, "")
    # beancount's import error, its traceback cut to its last line, then the fix.
    assert err == [
        "<load>:0: Error importing \"plugins.allocate\": ModuleNotFoundError: No module named 'plugins'",
        'lab-report: the main file names the plugin "plugins.allocate" instead of '
        f'{ALLOCATE}; replace plugin "plugins.allocate" with {ALLOCATE_LINE} in {main_file}',
    ]


def test_list_needs_no_plugin(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = report(capsys, str(tiny(tmp_path, "none")), "--list", "--format", "csv")
    assert (status, err) == (0, [])
    assert "books-check," in out and "gross-margin-per-mtok," in out


def test_books_with_depreciable_assets_need_depreciate() -> None:
    problem = pipeline_problem([ALLOCATE, CLASSIFY], True, "main.beancount", has_assets=True)
    assert problem is not None
    assert problem.problem == (
        "the books have depreciable assets (an open with depreciation-account) but were loaded without "
        f"{DEPRECIATE}, so they are never depreciated"
    )
    assert problem.fix == f"add the line {DEPRECIATE_LINE} above {ALLOCATE_LINE} in main.beancount"
    assert pipeline_problem([DEPRECIATE, ALLOCATE, CLASSIFY], True, "main.beancount", has_assets=True) is None


def test_example_without_depreciate_is_refused_by_bean_check_and_lab_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main_file = example_with(tmp_path, "no depreciate")
    _, errors, _ = loader.load_file(str(main_file))
    ours = [error for error in errors if isinstance(error, PipelineError)]
    assert len(ours) == 1 and "loaded without ailab_books.plugins.depreciate" in ours[0].message
    assert ours[0].source["filename"].endswith("allocation.beancount")  # the first rule
    assert main([str(main_file)]) == 1
    assert f"add the line {DEPRECIATE_LINE} above {ALLOCATE_LINE}" in capsys.readouterr().err


def test_view_with_depreciate_after_allocate_is_refused_at_the_first_rule(tmp_path: Path) -> None:
    main_file = example_with(tmp_path, "depreciate late")
    _, errors, _ = loader.load_file(str(main_file))
    ours = [error for error in errors if isinstance(error, PipelineError)]
    assert [error.message for error in ours] == [
        f"The plugins run in the wrong order: {ALLOCATE} runs before {DEPRECIATE}, so the depreciation it "
        f"charges to a shared pool stays there, unsplit; put {DEPRECIATE_LINE} above {ALLOCATE_LINE} in "
        f"{main_file.name}"
    ]
    assert ours[0].source["filename"].endswith("allocation.beancount")

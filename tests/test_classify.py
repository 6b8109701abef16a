"""Tests for ailab_books.plugins.classify.

Ledgers are written inline and loaded with `beancount.loader.load_string`, which
runs the `plugin "ailab_books.plugins.classify"` line like bean-check does. Each ledger
starts on the line after its opening quotes, so line 1 is the `plugin` line;
expected line numbers are written out by hand next to each ledger.
"""

from __future__ import annotations

import copy
import datetime
import textwrap
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import data
from beancount.parser import printer
from hypothesis import given, settings
from hypothesis import strategies as st

from ailab_books.plugins import classify as classify_mod
from ailab_books.plugins.classify import CLASSES, ClassifyError, classify


def load(text: str) -> tuple[list, list, dict]:
    return loader.load_string(textwrap.dedent(text))


def classify_errors(errors: list) -> list[ClassifyError]:
    return [e for e in errors if isinstance(e, ClassifyError)]


def txns(entries: list) -> list[data.Transaction]:
    return [e for e in entries if isinstance(e, data.Transaction)]


def opens(entries: list) -> dict[str, data.Open]:
    return {e.account: e for e in entries if isinstance(e, data.Open)}


ALL_CLASSES = """\
    plugin "ailab_books.plugins.classify"

    2026-01-01 open Assets:Bank
    2026-01-01 open Expenses:COGS:RevenueShare:API:Orion
    2026-01-01 open Expenses:RnD:Training:Orion
    2026-01-01 open Expenses:SGA:Legal
    2026-01-01 open Expenses:Shared:GPUCluster
    2026-01-01 open Income:API:Orion

    2026-01-10 * "inference"
      Expenses:COGS:RevenueShare:API:Orion  1.00 USD
      Assets:Bank

    2026-01-11 * "training"
      Expenses:RnD:Training:Orion  1.00 USD
      Assets:Bank

    2026-01-12 * "sga"
      Expenses:SGA:Legal  1.00 USD
      Assets:Bank

    2026-01-13 * "shared"
      Expenses:Shared:GPUCluster  1.00 USD
      Assets:Bank

    2026-01-14 * "several"
      Expenses:COGS:RevenueShare:API:Orion  1.00 USD
      Expenses:Shared:GPUCluster            1.00 USD
      Expenses:COGS:RevenueShare:API:Orion  1.00 USD
      Assets:Bank

    2026-01-15 * "revenue only"
      Assets:Bank       5.00 USD
      Income:API:Orion
"""


# -- Tags ---------------------------------------------------------------------


def test_tags_added_per_class() -> None:
    entries, errors, _ = load(ALL_CLASSES)
    assert errors == []
    tags = {t.narration: t.tags for t in txns(entries)}
    assert tags == {
        "inference": frozenset({"inference"}),
        "training": frozenset({"training"}),
        "sga": frozenset({"sga"}),
        "shared": frozenset({"shared"}),
        "several": frozenset({"inference", "shared"}),
        "revenue only": frozenset(),
    }
    for txn in txns(entries):
        assert isinstance(txn.tags, frozenset)


def test_existing_tags_kept() -> None:
    entries, errors, _ = load(
        """\
        plugin "ailab_books.plugins.classify"

        2026-01-01 open Assets:Bank
        2026-01-01 open Expenses:RnD:Data

        2026-01-10 * "dataset" #q1 #vendor-x
          Expenses:RnD:Data  1.00 USD
          Assets:Bank

        2026-01-11 * "already tagged" #training
          Expenses:RnD:Data  1.00 USD
          Assets:Bank
        """
    )
    assert errors == []
    first, second = txns(entries)
    assert first.tags == frozenset({"q1", "vendor-x", "training"})
    assert second.tags == frozenset({"training"})


def test_tags_printed_so_fava_sees_them() -> None:
    entries, _, _ = load(ALL_CLASSES)
    text = printer.format_entry(txns(entries)[4])
    assert text.splitlines()[0] == '2026-01-14 * "several" #inference #shared'


# -- Classes from metadata ------------------------------------------------------


def test_metadata_overrides_tree_and_is_inherited() -> None:
    entries, errors, _ = load(
        """\
        plugin "ailab_books.plugins.classify"

        2026-01-01 open Assets:Bank
        2026-01-01 open Expenses:SGA:Events
          cost-class: "training"
        2026-01-01 open Expenses:SGA:Events:Hackathon
        2026-01-01 open Expenses:SGA:Events:Party
          cost-class: "sga"
        2026-01-01 open Expenses:Cloud
          cost-class: "shared"
        2026-01-01 open Expenses:Cloud:Credits

        2026-01-10 * "hackathon"
          Expenses:SGA:Events:Hackathon  1.00 USD
          Assets:Bank

        2026-01-11 * "party"
          Expenses:SGA:Events:Party  1.00 USD
          Assets:Bank

        2026-01-12 * "credits"
          Expenses:Cloud:Credits  1.00 USD
          Assets:Bank
        """
    )
    assert errors == []
    tags = {t.narration: t.tags for t in txns(entries)}
    assert tags == {
        "hackathon": frozenset({"training"}),  # inherited from Expenses:SGA:Events
        "party": frozenset({"sga"}),  # nearest override wins
        "credits": frozenset({"shared"}),  # outside the tree, classified by metadata
    }


def test_open_entries_get_cost_class_metadata() -> None:
    entries, errors, _ = load(ALL_CLASSES)
    assert errors == []
    by_account = opens(entries)
    assert {a: o.meta.get("cost-class") for a, o in by_account.items()} == {
        "Assets:Bank": None,
        "Expenses:COGS:RevenueShare:API:Orion": "inference",
        "Expenses:RnD:Training:Orion": "training",
        "Expenses:SGA:Legal": "sga",
        "Expenses:Shared:GPUCluster": "shared",
        "Income:API:Orion": None,
    }
    # Location metadata survives, so errors and Fava links still point home.
    assert by_account["Expenses:SGA:Legal"].meta["filename"] == "<string>"
    assert by_account["Expenses:SGA:Legal"].meta["lineno"] == 6


# -- Errors -------------------------------------------------------------------


def test_bad_metadata_class_is_an_error_at_the_open() -> None:
    entries, errors, _ = load(
        """\
        plugin "ailab_books.plugins.classify"

        2026-01-01 open Assets:Bank
        2026-01-01 open Expenses:RnD:Data
          cost-class: "Trainning"
        2026-01-01 open Expenses:Misc
          cost-class: 3

        2026-01-10 * "dataset"
          Expenses:RnD:Data  1.00 USD
          Expenses:Misc      1.00 USD
          Assets:Bank
        """
    )
    assert len(errors) == 2
    first, second = errors
    assert isinstance(first, ClassifyError)
    assert first.message == (
        "Unknown cost-class 'Trainning' on account 'Expenses:RnD:Data' "
        "(expected one of: inference, training, sga, shared)"
    )
    assert (first.source["filename"], first.source["lineno"]) == ("<string>", 4)
    assert first.entry.account == "Expenses:RnD:Data"
    assert second.message.startswith("Unknown cost-class Decimal('3') on account 'Expenses:Misc'")
    assert (second.source["filename"], second.source["lineno"]) == ("<string>", 6)
    # The bad value is ignored: the tree still classifies Expenses:RnD:Data,
    # and Expenses:Misc (already reported) gets no second "no class" error.
    assert txns(entries)[0].tags == frozenset({"training"})
    # The opens keep what was written, next to their errors.
    assert opens(entries)["Expenses:RnD:Data"].meta["cost-class"] == "Trainning"


def test_metadata_on_non_expense_account_is_an_error() -> None:
    entries, errors, _ = load(
        """\
        plugin "ailab_books.plugins.classify"

        2026-01-01 open Assets:Bank
          cost-class: "shared"
        """
    )
    assert [(e.message, e.source["filename"], e.source["lineno"]) for e in errors] == [
        ("cost-class on non-expense account 'Assets:Bank' has no effect", "<string>", 3)
    ]
    # ... and it is dropped from the open: no query can read it as a class.
    assert "cost-class" not in opens(entries)["Assets:Bank"].meta
    assert opens(entries)["Assets:Bank"].meta["lineno"] == 3


UNCLASSIFIED = """\
    plugin "ailab_books.plugins.classify"

    2026-01-01 open Assets:Bank
    2026-01-01 open Expenses:COGS:Storage:API:Orion
    2026-01-01 open Expenses:Misc
    2026-01-01 open Expenses:Travel:Flights
    2026-01-01 open Expenses:Unused

    2026-01-10 * "biscuits"
      Expenses:Misc  4.00 USD
      Assets:Bank

    2026-01-11 * "more biscuits and a flight"
      Expenses:Misc            4.00 USD
      Expenses:Travel:Flights  400.00 USD
      Expenses:COGS:Storage:API:Orion  1.00 USD
      Assets:Bank
"""


def test_unclassified_account_with_postings_is_an_error_at_its_open() -> None:
    entries, errors, _ = load(UNCLASSIFIED)
    # One error per account, not per posting; the unused account is fine.
    assert [(e.source["filename"], e.source["lineno"]) for e in errors] == [
        ("<string>", 5),
        ("<string>", 6),
    ]
    misc, flights = errors
    assert isinstance(misc, ClassifyError)
    assert misc.message == (
        "Expense account 'Expenses:Misc' has postings but no cost class; put it under one of "
        "Expenses:COGS, Expenses:RnD, Expenses:SGA, Expenses:Shared or set cost-class on its "
        "open directive (one of: inference, training, sga, shared)"
    )
    assert misc.entry is opens(entries)["Expenses:Misc"]
    assert "'Expenses:Travel:Flights'" in flights.message
    # The classified posting still tags its transaction.
    assert [t.tags for t in txns(entries)] == [frozenset(), frozenset({"inference"})]


def test_unused_unclassified_account_is_not_an_error() -> None:
    _, errors, _ = load(
        """\
        plugin "ailab_books.plugins.classify"

        2026-01-01 open Expenses:Misc
        2026-01-01 open Expenses:Travel
        """
    )
    assert errors == []


def test_unclassified_account_without_open_points_at_first_transaction() -> None:
    _, errors, _ = load(
        """\
        plugin "ailab_books.plugins.classify"

        2026-01-01 open Assets:Bank

        2026-01-10 * "biscuits"
          Expenses:Misc  4.00 USD
          Assets:Bank

        2026-01-11 * "biscuits again"
          Expenses:Misc  4.00 USD
          Assets:Bank
        """
    )
    ours = classify_errors(errors)
    assert [(e.source["filename"], e.source["lineno"]) for e in ours] == [("<string>", 5)]
    assert ours[0].message.startswith("Expense account 'Expenses:Misc' has postings")
    assert ours[0].entry.narration == "biscuits"
    # Beancount itself also complains about the unopened account.
    assert len(errors) > len(ours)


def test_bean_check_prints_file_and_line() -> None:
    _, errors, _ = load(UNCLASSIFIED)
    text = printer.format_error(errors[0])
    assert text.startswith("<string>:5: Expense account 'Expenses:Misc' has postings")
    assert "open Expenses:Misc" in text


# -- Config -------------------------------------------------------------------


def test_config_adds_and_overrides_roots() -> None:
    entries, errors, _ = load(
        """\
        plugin "ailab_books.plugins.classify" "Expenses:Travel=sga, Expenses:RnD:Demos=sga
                                   Expenses:COGS:Research=training"

        2026-01-01 open Assets:Bank
        2026-01-01 open Expenses:Travel:Flights
        2026-01-01 open Expenses:RnD:Demos:Booth
        2026-01-01 open Expenses:COGS:Research
          cost-class: "shared"

        2026-01-10 * "flight"
          Expenses:Travel:Flights  1.00 USD
          Assets:Bank

        2026-01-11 * "booth"
          Expenses:RnD:Demos:Booth  1.00 USD
          Assets:Bank

        2026-01-12 * "metadata beats config"
          Expenses:COGS:Research  1.00 USD
          Assets:Bank
        """
    )
    assert errors == []
    assert [t.tags for t in txns(entries)] == [
        frozenset({"sga"}),
        frozenset({"sga"}),
        frozenset({"shared"}),
    ]


def test_bad_config_items_are_errors_and_none_applies() -> None:
    entries, errors, _ = load(
        """\
        plugin "ailab_books.plugins.classify" "Expenses:Travel=sga Expenses:Food Expenses:Cloud=cheap Assets:Cash=sga expenses:x=sga"

        2026-01-01 open Assets:Bank
        2026-01-01 open Expenses:Travel

        2026-01-10 * "flight"
          Expenses:Travel  1.00 USD
          Assets:Bank
        """  # noqa: E501
    )
    # A string has no file to find the plugin line in.
    assert [(e.source["filename"], e.source["lineno"], e.entry) for e in errors if e.entry is None] == [
        ("<string>", 0, None)
    ] * 4
    assert [e.message for e in errors if e.entry is None] == [
        "Bad ailab_books.plugins.classify config item 'Expenses:Food': expected 'Account=class'",
        "Bad ailab_books.plugins.classify config item 'Expenses:Cloud=cheap': unknown cost class 'cheap' "
        "(expected one of: inference, training, sga, shared)",
        "Bad ailab_books.plugins.classify config item 'Assets:Cash=sga': "
        "'Assets:Cash' is not an expense account (not under Expenses)",
        "Bad ailab_books.plugins.classify config item 'expenses:x=sga': invalid account name 'expenses:x'",
    ]
    # The good item does not apply either: Expenses:Travel has no class (an error at its open).
    assert txns(entries)[0].tags in (None, frozenset())
    assert [e.message for e in errors if e.entry is not None] == [
        "Expense account 'Expenses:Travel' has postings but no cost class; put it under one of "
        "Expenses:COGS, Expenses:RnD, Expenses:SGA, Expenses:Shared or set cost-class on its open "
        "directive (one of: inference, training, sga, shared)"
    ]


def test_config_errors_point_at_the_plugin_line(tmp_path: Path) -> None:
    main = tmp_path / "view.beancount"
    main.write_text(
        textwrap.dedent(
            """\
            ; a view: classify's plugin line is line 4
            option "operating_currency" "USD"

            plugin "ailab_books.plugins.classify" "Expenses:RnD:Rollout=inference Expenses:COGS:Free=sga Expenses:RnD=sga Expenses:RnD=inference"

            2026-01-01 open Assets:Bank
            2026-01-01 open Expenses:RnD:Rollouts:Compute
            2026-01-01 open Expenses:COGS:Inference:Compute:Free:Orion

            2026-01-10 * "rollouts"
              Expenses:RnD:Rollouts:Compute  1.00 USD
              Assets:Bank
            """  # noqa: E501
        ),
        encoding="utf-8",
    )
    entries, errors, _ = loader.load_file(str(main))
    assert [(e.source["filename"], e.source["lineno"]) for e in errors] == [(str(main), 4)] * 3
    assert [e.message for e in errors] == [
        "Bad ailab_books.plugins.classify config item 'Expenses:RnD:Rollout=inference': "
        "no account 'Expenses:RnD:Rollout' is opened, nor any under it (a typo?)",
        "Bad ailab_books.plugins.classify config item 'Expenses:COGS:Free=sga': "
        "no account 'Expenses:COGS:Free' is opened, nor any under it (a typo?)",
        "Bad ailab_books.plugins.classify config item 'Expenses:RnD=inference': "
        "'Expenses:RnD' is given a class twice (first sga)",
    ]
    # Nothing moved: the rollouts stay training, as the tree says.
    assert txns(entries)[0].tags == frozenset({"training"})
    assert opens(entries)["Expenses:RnD:Rollouts:Compute"].meta["cost-class"] == "training"


def test_config_may_name_a_parent_that_is_not_opened() -> None:
    entries, errors, _ = load(
        """\
        plugin "ailab_books.plugins.classify" "Expenses:COGS:Inference:Compute:Free=sga"

        2026-01-01 open Assets:Bank
        2026-01-01 open Expenses:COGS:Inference:Compute:Free:Orion

        2026-01-10 * "free tier"
          Expenses:COGS:Inference:Compute:Free:Orion  1.00 USD
          Assets:Bank
        """
    )
    assert errors == []
    assert txns(entries)[0].tags == frozenset({"sga"})


def test_no_config_and_blank_config_are_the_same() -> None:
    entries, _, options_map = load(ALL_CLASSES)
    raw = [e._replace(tags=frozenset()) if isinstance(e, data.Transaction) else e for e in entries]
    assert classify(raw, options_map, "  ") == classify(raw, options_map)


def test_renamed_expenses_root() -> None:
    entries, errors, _ = load(
        """\
        option "name_expenses" "Costs"
        plugin "ailab_books.plugins.classify" "Costs:Travel=sga"

        2026-01-01 open Assets:Bank
        2026-01-01 open Costs:RnD:Data
        2026-01-01 open Costs:Travel

        2026-01-10 * "both"
          Costs:RnD:Data  1.00 USD
          Costs:Travel    1.00 USD
          Assets:Bank
        """
    )
    assert errors == []
    assert txns(entries)[0].tags == frozenset({"training", "sga"})


# -- Purity and cost --------------------------------------------------------------


def _unplugged(text: str) -> tuple[list, dict]:
    """Load a ledger with the plugin line removed, to call the plugin by hand."""
    source = textwrap.dedent(text).replace('plugin "ailab_books.plugins.classify"', "")
    entries, errors, options_map = loader.load_string(source)
    assert errors == []
    return entries, options_map


def test_input_entries_not_mutated() -> None:
    entries, options_map = _unplugged(ALL_CLASSES)
    before = copy.deepcopy(entries)
    ids = [id(e) for e in entries]
    metas = [id(e.meta) for e in entries]

    new_entries, errors = classify(entries, options_map)

    assert errors == []
    assert new_entries is not entries
    assert entries == before
    assert [id(e) for e in entries] == ids
    assert [id(e.meta) for e in entries] == metas
    assert all("cost-class" not in e.meta for e in entries)
    assert len(new_entries) == len(entries)


def test_untouched_entries_are_the_same_objects() -> None:
    entries, options_map = _unplugged(ALL_CLASSES)
    new_entries, _ = classify(entries, options_map)
    for old, new in zip(entries, new_entries, strict=True):
        changed = (isinstance(old, data.Transaction) and old.narration != "revenue only") or (
            isinstance(old, data.Open) and old.account.startswith("Expenses:")
        )
        assert (old is not new) == changed, old

    # A second run changes nothing at all: every class tag and meta is there.
    again, _ = classify(new_entries, options_map)
    assert all(a is b for a, b in zip(new_entries, again, strict=True))


def test_generated_entries_without_meta_or_tags() -> None:
    # An earlier plugin may build entries carelessly; never raise on them.
    txn = data.Transaction(
        None,
        datetime.date(2026, 1, 31),
        "*",
        None,
        "generated",
        None,
        None,
        [
            data.Posting("Expenses:Misc", None, None, None, None, None),
            data.Posting("Expenses:Shared:Power", None, None, None, None, None),
        ],
    )
    open_entry = data.Open(None, datetime.date(2026, 1, 1), "Expenses:Shared:Power", None, None)
    new_entries, errors = classify([open_entry, txn], {})
    assert new_entries[0].meta == {"cost-class": "shared"}
    assert new_entries[1].tags == frozenset({"shared"})
    assert [(e.source["filename"], e.source["lineno"]) for e in errors] == [
        ("<ailab_books.plugins.classify>", 0)
    ]


def test_module_shape() -> None:
    assert classify_mod.__plugins__ == ("classify",)
    assert ClassifyError._fields == ("source", "message", "entry")
    assert CLASSES == ("inference", "training", "sga", "shared")


ACCOUNTS = [
    "Assets:Bank",
    "Income:API:Orion",
    "Expenses:COGS:Inference:Compute:API:Orion",
    "Expenses:RnD:Training:Orion",
    "Expenses:SGA:Legal",
    "Expenses:Shared:Power",
    "Expenses:Misc",
]
EXPECTED_CLASS = {
    "Expenses:COGS:Inference:Compute:API:Orion": "inference",
    "Expenses:RnD:Training:Orion": "training",
    "Expenses:SGA:Legal": "sga",
    "Expenses:Shared:Power": "shared",
}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=5),
            st.frozensets(st.sampled_from(["q1", "training", "x", "shared"])),
        ),
        max_size=20,
    )
)
def test_tags_are_input_tags_plus_classes_touched(
    specs: list[tuple[list[str], frozenset[str]]],
) -> None:
    entries = []
    for i, (accounts, tags) in enumerate(specs):
        postings = [data.Posting(a, data.Amount(Decimal(1), "USD"), None, None, None, None) for a in accounts]
        meta = data.new_metadata("<gen>", i + 1)
        date = datetime.date(2026, 1, 1)
        entries.append(data.Transaction(meta, date, "*", None, "t", tags, frozenset(), postings))
    snapshot = copy.deepcopy(entries)

    new_entries, errors = classify(entries, {"name_expenses": "Expenses"})

    assert entries == snapshot
    assert len(new_entries) == len(entries)
    first_misc = next((i for i, (a, _) in enumerate(specs) if "Expenses:Misc" in a), None)
    assert [e.source["lineno"] - 1 for e in errors] == ([] if first_misc is None else [first_misc])
    for (accounts, tags), old, new in zip(specs, entries, new_entries, strict=True):
        classes = {EXPECTED_CLASS[a] for a in accounts if a in EXPECTED_CLASS}
        assert new.tags == tags | classes
        assert (new is old) == classes.issubset(tags)
        assert new.postings is old.postings
        assert set(new.tags) - set(tags) <= set(CLASSES)


# -- The module docstring's example -------------------------------------------


def _indented_block(doc: str, after: str) -> str:
    """The first indented block of ``doc`` after the line that contains ``after``, dedented."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) + 1
    while not lines[start].startswith("    "):  # the rest of the sentence, the blank line
        start += 1
    block: list[str] = []
    for line in lines[start:]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip("\n") + "\n"


def test_docstring_example_runs_as_documented() -> None:
    doc = classify_mod.__doc__ or ""
    source = _indented_block(doc, "given this input")
    expected = _indented_block(doc, "the entries come out as")
    documented_errors = _indented_block(doc, "and bean-check reports")

    entries, errors, _ = loader.load_string(source)
    printed = "\n".join(printer.format_entry(entry) for entry in entries)
    assert [line.rstrip() for line in printed.strip().splitlines()] == expected.strip().splitlines()

    got = [(error.source["lineno"], error.message) for error in errors]
    want = []
    for line in documented_errors.strip().splitlines():
        lineno, _, message = line.partition(": ")
        want.append((int(lineno.removeprefix("line ")), message.removesuffix(" ...")))
    assert len(got) == len(want), got
    for (got_line, got_message), (want_line, want_start) in zip(got, want, strict=True):
        assert got_line == want_line, (got_line, got_message)
        assert got_message.startswith(want_start), (got_message, want_start)

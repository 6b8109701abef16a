"""Policy views side by side: ``lab-report --view NAME`` and ``lab-report --compare``.

A view is a main file in the ``views/`` folder next to the books' main file
(``ledger/views/<name>.beancount``): the same books under another policy
(docs/views.md). ``--view NAME`` runs any report on that file instead of the
main file; ``--compare accountant,gpu-life-4y`` (or ``--compare all``) runs the
monthly summary (:func:`ailab_books.queries.economics.summary`) on each view's
file alone and sets the figures side by side, one row per month and view, with
each view's difference from the accountant's view. The figures are the ones
``lab-report --view NAME`` prints for that view, taken from the same summary:
nothing is recomputed here except the per-Mtok price and cost of serving
(revenue and cost of serving over tokens, to six places, as the summary rounds).

For example, ``lab-report --compare accountant,gpu-life-4y --total`` on the
example books (every column and view: docs/views.md)::

    month  view         ... gross_margin_per_mtok  after_training_margin_per_mtok  net_margin_per_mtok ...
    Total  accountant   ...              1.042374                        0.221675            -1.361512 ...
    Total  gpu-life-4y  ...              1.013944                        0.159549            -1.451225 ...
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ailab_books.plugins.amortise import DEFAULT_EXPENSE_ROOT, model_of_training_account
from ailab_books.plugins.models import parse_models, trained_or_metered_models
from ailab_books.queries.economics import TOTAL, Month, Window, per_mtok, summary
from ailab_books.queries.lifetime import BadModelRecords
from ailab_books.queries.monthly import monthly_summary
from ailab_books.queries.runner import Ledger

#: The folder of views, next to the books' main file.
VIEWS_FOLDER = "views"
#: The view every other is compared with.
BASE_VIEW = "accountant"
#: ``--compare all``.
ALL_VIEWS = "all"

COMPARE_COLUMNS = [
    "month",
    "view",
    "million_tokens",
    "price_per_mtok",
    "cost_of_serving_per_mtok",
    "gross_margin_per_mtok",
    "after_training_margin_per_mtok",
    "net_margin_per_mtok",
    "gross_per_mtok_vs_accountant",
    "after_training_per_mtok_vs_accountant",
    "net_per_mtok_vs_accountant",
]


class UnknownView(ValueError):
    """A view name with no file in the views folder (a usage error)."""


def views_folder(ledger: Path) -> Path:
    """The views of the books whose main file is ``ledger``: ``views/`` next to it."""
    return ledger.parent / VIEWS_FOLDER


def available_views(folder: Path) -> list[str]:
    """The views in ``folder`` (file names without ``.beancount``), the accountant's first."""
    names = sorted(path.stem for path in folder.glob("*.beancount")) if folder.is_dir() else []
    return sorted(names, key=lambda name: name != BASE_VIEW)


def _unknown(wanted: str, folder: Path, names: Sequence[str]) -> UnknownView:
    if not names:
        return UnknownView(f"unknown view {wanted!r}: there is no view in {folder} (docs/views.md)")
    return UnknownView(f"unknown view {wanted!r}: the views in {folder} are {', '.join(names)}")


def view_file(ledger: Path, name: str) -> Path:
    """The main file of the view ``name`` of the books whose main file is ``ledger``."""
    folder = views_folder(ledger)
    names = available_views(folder)
    if name not in names:
        raise _unknown(name, folder, names)
    return folder / f"{name}.beancount"


def compared_views(ledger: Path, spec: str) -> list[str]:
    """The views ``--compare`` names (comma-separated, or ``all``), the accountant's first
    (added if not named: every other view is shown as a difference from it)."""
    folder = views_folder(ledger)
    names = available_views(folder)
    wanted = list(names) if spec.strip() == ALL_VIEWS else [name.strip() for name in spec.split(",")]
    chosen: list[str] = []
    for name in wanted:
        if name not in names:
            raise _unknown(name, folder, names)
        if name in chosen:
            raise UnknownView(f"view {name!r} is named twice in --compare {spec}")
        chosen.append(name)
    if BASE_VIEW not in chosen:
        if BASE_VIEW not in names:
            raise UnknownView(
                f"--compare needs the view {BASE_VIEW!r} ({folder / BASE_VIEW}.beancount) to compare with"
            )
        chosen.insert(0, BASE_VIEW)
    return sorted(chosen, key=lambda name: name != BASE_VIEW)


def _difference(value: object, base: object) -> Decimal | None:
    if isinstance(value, Decimal) and isinstance(base, Decimal):
        return value - base
    return None


def model_training_charged(ledger: Ledger, window: Window) -> dict[str, Decimal]:
    """Per month (and ``Total``), the training cost of the models that the period's P&L carries: the
    models' training accounts as they stand (all of it in the accountant's view; nothing in the
    model-as-company view, which capitalises it) plus the amortisation of capitalised training.

    Which accounts hold a model's training cost is :func:`model_of_training_account`, the rule the
    ``amortise`` plugin capitalises by, so the after-training margin means the same in every view;
    an account a view counts as cost of serving (class ``inference``) is left out here, as the gross
    margin has already subtracted it.
    """
    records, errors = parse_models(ledger.entries, ledger.options)
    if errors:  # a dropped record would leave its model's training out of the figure
        raise BadModelRecords(
            f"{ledger.filename}: the model records have errors, so the after-training margin cannot be "
            "computed:\n"
            + "\n".join(f"{e.source.get('filename')}:{e.source.get('lineno')}: {e.message}" for e in errors)
        )
    # Every model the books name, with a record or not: a model without one has its training
    # expensed (the accountant's view), and leaving it out would raise the after-training margin.
    names = {record.name for record in records} | trained_or_metered_models(ledger.entries, ledger.options)
    amortisation = DEFAULT_EXPENSE_ROOT + ":"
    charged: dict[str, Decimal] = {}
    total = Decimal(0)
    for group in monthly_summary(ledger).groups:
        if not (
            model_of_training_account(group.account, names) is not None
            or group.account.startswith(amortisation)
        ):
            continue
        if group.cost_class == "inference":
            continue  # a view counts it in the cost of serving (rollouts-are-inference): already subtracted
        month = Month(group.year, group.month)
        if month not in window:
            continue
        charged[str(month)] = charged.get(str(month), Decimal(0)) + group.money
        total += group.money
    charged[TOTAL] = total
    return charged


def _after_training(row: Mapping[Hashable, object], charged: Decimal) -> Decimal | None:
    revenue, cogs, tokens = row["revenue"], row["inference_cogs"], row["million_tokens"]
    if not (isinstance(revenue, Decimal) and isinstance(cogs, Decimal) and isinstance(tokens, Decimal)):
        return None
    return per_mtok(revenue - cogs - charged, tokens)


def compare(
    ledgers: Mapping[str, Ledger], window: Window | None = None, *, total_only: bool = False
) -> pd.DataFrame:
    """The summary of each view, side by side: one row per month and view (then the
    Total rows of the period), with the differences from the accountant's view.

    ``ledgers`` maps view names to their loaded main files, the accountant's first.
    """
    names = list(ledgers)
    if not names or names[0] != BASE_VIEW:
        raise ValueError(f"the first view compared must be {BASE_VIEW}")
    window = window or Window()
    summaries = {
        name: {str(row["month"]): row for row in summary(ledger, window).to_dict("records")}
        for name, ledger in ledgers.items()
    }
    training = {name: model_training_charged(ledger, window) for name, ledger in ledgers.items()}
    after = {
        name: {
            month: _after_training(row, training[name].get(month, Decimal(0))) for month, row in rows.items()
        }
        for name, rows in summaries.items()
    }
    months: list[str] = []
    for rows in summaries.values():
        months.extend(month for month in rows if month not in months)
    months.sort(key=lambda month: (month == TOTAL, month))
    if total_only:
        months = [TOTAL]
    out = []
    for month in months:
        base = summaries[BASE_VIEW].get(month, {})
        for name in names:
            row = summaries[name].get(month)
            if row is None:
                continue
            tokens = row["million_tokens"]
            out.append(
                {
                    "month": month,
                    "view": name,
                    "million_tokens": tokens,
                    "price_per_mtok": per_mtok(row["revenue"], tokens),
                    "cost_of_serving_per_mtok": per_mtok(row["inference_cogs"], tokens),
                    "gross_margin_per_mtok": row["gross_margin_per_mtok"],
                    "after_training_margin_per_mtok": after[name][month],
                    "net_margin_per_mtok": row["net_margin_per_mtok"],
                    "gross_per_mtok_vs_accountant": _difference(
                        row["gross_margin_per_mtok"], base.get("gross_margin_per_mtok")
                    ),
                    "after_training_per_mtok_vs_accountant": _difference(
                        after[name][month], after[BASE_VIEW].get(month)
                    ),
                    "net_per_mtok_vs_accountant": _difference(
                        row["net_margin_per_mtok"], base.get("net_margin_per_mtok")
                    ),
                }
            )
    return pd.DataFrame(out, columns=COMPARE_COLUMNS, dtype=object)

"""The policy views: each a small main file in ``views/`` over the same books.

A view changes policy, never facts: it is a title, the plugin lines with their
policy config, and ``include "../books.beancount"``. ``main.beancount`` is the
accountant's view written next to the books (its plugin lines are
:data:`ACCOUNTANT`'s). ``lab-report --view NAME`` and ``--compare`` find the
views by their file names (docs/views.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: The plugins, in the order every view runs them (ailab_books.plugins.pipeline.PLUGIN_ORDER).
DEPRECIATE = "ailab_books.plugins.depreciate"
ALLOCATE = "ailab_books.plugins.allocate"
AMORTISE = "ailab_books.plugins.amortise"
CLASSIFY = "ailab_books.plugins.classify"
#: Checks the ``custom "model"`` records (a check only: it changes no entry). Every view runs it,
#: so a malformed record is an error wherever the books are opened, not only where amortise runs.
MODELS = "ailab_books.plugins.models"


@dataclass(frozen=True)
class Plugin:
    """One ``plugin`` line: the module and its config (None: no config)."""

    module: str
    config: str | None = None

    def line(self) -> str:
        """The line as it goes in a main file."""
        if self.config is None:
            return f'plugin "{self.module}"'
        return f'plugin "{self.module}" "{self.config}"'


@dataclass(frozen=True)
class View:
    """A policy view: its file name (without ``.beancount``), what it changes, its plugins."""

    name: str
    summary: tuple[str, ...]  # comment lines: what the view changes
    plugins: tuple[Plugin, ...]


ACCOUNTANT = View(
    "accountant",
    ("The books as they are: the accountant's policy (the same plugins as main.beancount).",),
    (Plugin(DEPRECIATE), Plugin(ALLOCATE), Plugin(CLASSIFY), Plugin(MODELS)),
)

#: The R&D lines of inference used for training (RL rollouts, evals), by the example's accounts.
ROLLOUT_ROOTS: tuple[str, ...] = ("Expenses:RnD:Rollouts", "Expenses:RnD:Evals")

#: The tier whose serving cost the free-tier-is-marketing view moves to S&M.
FREE_TIER = "Free"


def views_for(accounts: Iterable[str]) -> tuple[View, ...]:
    """Every view of books that open ``accounts``, accountant first.

    The classify overrides name the accounts these books open: the free tier's
    serving lines are the parents of the ``Expenses:COGS:...:Free:<Model>``
    accounts (one per serving line: compute, power, staff, ...).
    """
    opened = sorted(set(accounts))
    rollouts = [root for root in ROLLOUT_ROOTS if any(_under(name, root) for name in opened)]
    free = sorted(
        {
            name.rpartition(":")[0]
            for name in opened
            if name.startswith("Expenses:COGS:") and name.split(":")[-2] == FREE_TIER
        }
    )
    return (
        ACCOUNTANT,
        View(
            "rollouts-are-inference",
            (
                "RL rollouts and evals (inference used for training) count as cost of serving",
                "(class inference) instead of R&D: the skeptic's cost of a token, in the gross margin.",
            ),
            (
                Plugin(DEPRECIATE),
                Plugin(ALLOCATE),
                Plugin(CLASSIFY, " ".join(f"{root}=inference" for root in rollouts)),
                Plugin(MODELS),
            ),
        ),
        View(
            "free-tier-is-marketing",
            (
                "The free tier's serving cost is sales and marketing (class sga), not cost of",
                "revenue: the free tokens still count in every per-token figure.",
            ),
            (
                Plugin(DEPRECIATE),
                Plugin(ALLOCATE),
                Plugin(CLASSIFY, " ".join(f"{line}=sga" for line in free)),
                Plugin(MODELS),
            ),
        ),
        View(
            "model-as-company",
            (
                "Each model as a company: its training cost (allocation step 2b) is capitalised",
                "per model and amortised straight-line over its expected serving life from launch",
                "(models.beancount); method=units amortises by tokens served instead. A management",
                "view, not GAAP: ASC 730 expenses R&D as incurred (docs/views.md).",
            ),
            (
                Plugin(DEPRECIATE),
                Plugin(ALLOCATE),
                Plugin(AMORTISE, "method=straight-line"),
                Plugin(CLASSIFY),
                Plugin(MODELS),
            ),
        ),
        _gpu_life("gpu-life-4y", 48, "as some neoclouds and skeptics argue: GPUs wear out and date faster"),
        _gpu_life("gpu-life-6y", 72, "as some hyperscalers depreciate servers"),
    )


def _gpu_life(name: str, months: int, why: str) -> View:
    return View(
        name,
        (
            f"Owned GPU servers depreciate over {months} months ({months // 12} years), {why},",
            "instead of the books' 60: a change in accounting estimate, applied prospectively",
            "(the remaining book value over the remaining life; the opening balances stay facts).",
        ),
        (Plugin(DEPRECIATE, f"life-months={months}"), Plugin(ALLOCATE), Plugin(CLASSIFY), Plugin(MODELS)),
    )


def _under(name: str, root: str) -> bool:
    return name == root or name.startswith(root + ":")

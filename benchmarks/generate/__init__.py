"""Generate the Orion Labs books: synthetic ledgers that follow the example's structure.

The benchmark (``benchmarks/run.py``) measures the plugins and the saved
queries on ledgers of any size written by this package. A generated ledger
follows the example books' structure because it copies it:
``ledger/accounts.beancount`` and ``ledger/allocation.beancount`` are written
into it unchanged (``structure.py``; moved to earlier dates only for a period
that starts before them), and the generator refuses to write a ledger that
posts to an account those files do not open. It loads with the same plugins.

- ``scale=N`` makes the lab N times larger: every amount and quantity is
  multiplied by N, each vendor sends N invoices a month instead of one, there are
  N times as many enterprise customers, and payroll is booked one posting per
  employee (about 500 x N employees at the end) instead of one per function.
- ``daily=True`` meters tokens and GPU-hours per day (per tier and model, per
  deployment and workload) and settles subscriptions daily.

The steps (``ledger.generate``), one module each:

1. calendar (``months``) and volumes (``volumes``: each month's plan, which
   several books must agree on);
2. money, one book per subject file (``revenue``, ``payroll``, ``compute``,
   ``capex``, ``opex``, ``funding``; invoices in ``billing``, the simple
   vendors in ``vendors``) and the drivers (``drivers``);
3. structure: the example's accounts and rules (``structure``);
4. text (``text``).

The fictional lab's dimensions and sizes are in ``lab``; the arithmetic
(cents, largest-remainder splits) in ``amounts``; the seeded random streams in
``streams``.

Determinism: the same arguments give the same bytes. Nothing depends on the
wall clock, the environment or hash order; every random stream is seeded from
the seed, the subject and the month. Money is ``Decimal`` throughout, in
cents; quantities are integers.

The example books in ``ledger/`` were first written by this generator with its
defaults (scale 1, monthly, 2025-01..2026-10, seed 7; only with those arguments
does main.beancount get the example's title and extra includes,
``lab.EXAMPLE_EXTRA_INCLUDES``). From then on they are books kept by hand:
nothing compares their transactions with the generator's. What the two share
is the structure, as above, and ``tests/test_generate.py`` checks it.

Usage::

    python -m ailab_books.benchmarks.generate benchmarks/out/x100 --scale 100 --daily
    python -m ailab_books.benchmarks.generate /tmp/short --months 2025-01:2025-06
"""

from __future__ import annotations

from .cli import main
from .ledger import generate, write_ledger
from .structure import StructureError

__all__ = ["StructureError", "generate", "main", "write_ledger"]

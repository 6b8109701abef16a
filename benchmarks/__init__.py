"""The benchmark of the performance contract: the synthetic-ledger generator and the measurement.

``ailab_books.benchmarks.generate`` writes ledgers of any size that follow the
example books' accounts and allocation rules; ``benchmarks/run.py``
(``ailab_books.benchmarks.run``) times the plugins and the saved queries on
them as ratios to a plain beancount load (``benchmarks/README.md``).
"""

"""Beancount plugins for the AI lab's books (installed as ``ailab_books.plugins``).

A ledger loads two, in this order, in its main file::

    plugin "ailab_books.plugins.allocate"
    plugin "ailab_books.plugins.classify"

- ``allocate``: splits shared cost pools by driver quantities recorded in the
  ledger (``custom "allocate"`` rules), step-down, at their value in the
  operating currency, to the exact cent; every mistake in a rule is a located
  error and the month's amount stays in its pool.
- ``classify``: gives every expense account its one cost class (the class every
  query, report and chart uses), tags transactions with the classes they touch,
  and reports P&L amounts no price can value and plugins loaded in the wrong
  order.

The modules they are made of, one concern each:

- ``rules``: reading and checking ``custom "allocate"`` directives;
- ``chart``: the opened accounts, root names and operating currencies;
- ``source``: the rules' source lines (keys written twice);
- ``drivers``: driver quantities per month and activity;
- ``pool_month``: what a pool holds in a month, valued;
- ``residuals``: money left under the pool root at a month end;
- ``config``: the allocate plugin's settings (``pool-root=...``);
- ``rounding``: largest-remainder splitting;
- ``valuation``: the operating currency, and P&L postings no price can value;
- ``pipeline``: which plugins the books need, in which order.
"""

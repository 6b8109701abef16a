"""Beancount plugins for the AI lab's books.

- `ailab_books.plugins.allocate`: splits shared cost pools by driver quantities recorded in
  the ledger (`custom "allocate"` rules), step-down, to the exact cent.
- `ailab_books.plugins.classify`: gives every expense account a cost class and tags
  transactions with the classes they touch.

Shared pieces: `ailab_books.plugins.rules` (reading and validating allocation rules) and
`ailab_books.plugins.rounding` (largest-remainder splitting).
"""

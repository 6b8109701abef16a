"""Beancount plugins for the AI lab's books.

- `plugins.allocate`: splits shared cost pools by driver quantities recorded in
  the ledger (`custom "allocate"` rules), step-down, to the exact cent.
- `plugins.classify`: gives every expense account a cost class and tags
  transactions with the classes they touch.

Shared pieces: `plugins.rules` (reading and validating allocation rules) and
`plugins.rounding` (largest-remainder splitting).
"""

"""``python -m ailab_books.benchmarks.generate``: see :mod:`.cli`."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())

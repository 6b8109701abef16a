"""``python -m ailab_books.queries``: the same as the ``lab-report`` command."""

from __future__ import annotations

import sys

from ailab_books.queries.report import main

sys.exit(main())

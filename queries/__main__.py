"""``python -m queries``: the same as the ``lab-report`` command."""

from __future__ import annotations

import sys

from queries.report import main

sys.exit(main())

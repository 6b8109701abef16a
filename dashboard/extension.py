"""fava-dashboards with only the endpoints the Unit economics page uses.

Load it in place of ``fava_dashboards``::

    2025-01-01 custom "fava-extension" "ailab_books.dashboard.extension" "{'config': '...tsx'}"

What upstream fava-dashboards (2.0.x) exposes and this class does not:

- ``v1_render_panel`` (POST) renders a Jinja template taken from the request body:
  ``{{ cycler.__init__.__globals__.os.getpid() }}`` runs Python in Fava's process;
- ``query`` (GET) runs BQL taken from the request outside Fava's query shell;
- ``v2_config`` with a YAML config sends any file its ``utils.path`` names.

Kept: ``v2_config`` for a script config (the page's own code) inside the books'
folder, and ``v2_ledger``. Every other endpoint, including any a later
fava-dashboards adds, is dropped: the list is of what is kept. The page's script,
template and name are upstream's (its bundled JavaScript addresses the extension
as ``FavaDashboards``). The class also guards Fava's own query API for the
ledger that loads it (``query_guard``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fava_dashboards
from beancount.core import data
from fava.helpers import FavaAPIError
from flask import abort, jsonify, make_response, request

from .query_guard import refusal

#: Fava's endpoints that hand ``query_string`` to beanquery's shell.
QUERY_ENDPOINTS = frozenset({"json_api.get_query", "download_query"})


class FavaDashboards(fava_dashboards.FavaDashboards):  # type: ignore[misc]  # upstream is untyped
    """fava-dashboards without the endpoints that evaluate or serve what a request names."""

    endpoints: dict[tuple[str, str], Callable[..., Any]]

    def __init__(self, ledger: Any, config: str | None = None) -> None:
        super().__init__(ledger, config)
        # The endpoints the page calls, and no other: Fava calls ``endpoints[name, method](self)``.
        self.endpoints = {
            ("v2_config", "GET"): FavaDashboards.api_v2_config,
            ("v2_ledger", "GET"): fava_dashboards.FavaDashboards.api_v2_ledger,
        }

    @property
    def extension_dir(self) -> Path:
        """Upstream's folder: the page's bundled script and template are served from there."""
        return Path(fava_dashboards.__file__).parent

    def before_request(self) -> None:
        """Refuse a query string that would do more than read the entries (query_guard)."""
        super().before_request()
        if request.endpoint in QUERY_ENDPOINTS:
            reason = refusal(request.args.get("query_string", ""))
            if reason is not None:
                abort(make_response(jsonify(error=f"Refused: {reason}."), 403))

    def read_ext_config(self) -> fava_dashboards.ExtConfig:
        """The page's config path, relative to the file that declares this extension.

        Upstream joins it to the main file's folder, which differs between
        ``ledger/main.beancount`` and a policy view in ``ledger/views/`` that
        includes the same ``dashboard/fava.beancount``; relative to the declaring
        file (as beancount resolves an ``include``) it is the same for every view.
        """
        cfg = self.config if isinstance(self.config, dict) else {}
        declared = declaring_file(self.ledger.all_entries, type(self).__module__)
        if "config" not in cfg or declared is None:
            return super().read_ext_config()
        return fava_dashboards.ExtConfig(dashboards_path=declared.parent / cfg["config"])

    def api_v2_config(self) -> Any:
        """The page's script config, if it is one and lies inside the books' folder; else 403."""
        path = Path(self.read_ext_config().dashboards_path).resolve()
        included = [self.ledger.beancount_file_path, *self.ledger.options["include"]]
        reason = config_refusal(path, books_folder(included))
        if reason is not None:
            return {"success": False, "error": reason}, 403
        try:
            config_js = fava_dashboards.read_dashboards_tsx(path)
        except FavaAPIError as error:  # as upstream's api_response answers it
            return {"success": False, "error": error.message}, 500
        return {"success": True, "data": {"configJs": config_js}}


def declaring_file(entries: list[Any], module: str) -> Path | None:
    """The file of the ``custom "fava-extension"`` directive that loads ``module``, if any."""
    for entry in entries:
        if (
            isinstance(entry, data.Custom)
            and entry.type == "fava-extension"
            and entry.values
            and entry.values[0].value == module
        ):
            filename = (entry.meta or {}).get("filename")
            if isinstance(filename, str) and not filename.startswith("<"):
                return Path(filename)
    return None


def books_folder(included: list[str]) -> Path:
    """The deepest folder holding the main file and every file it includes (the ``include`` option)."""
    return Path(os.path.commonpath([str(Path(name).resolve().parent) for name in included]))


def config_refusal(path: Path, folder: Path) -> str | None:
    """Why the dashboard config at ``path`` may not be served, or None."""
    if path.suffix not in fava_dashboards.SCRIPT_EXTENSIONS:
        return (
            f'dashboard config "{path.name}" refused: only a script config '
            f"({', '.join(fava_dashboards.SCRIPT_EXTENSIONS)}) is served; YAML configs can name other files"
        )
    if not path.is_relative_to(folder):
        return f'dashboard config "{path}" refused: it is outside the books\' folder {folder}'
    return None

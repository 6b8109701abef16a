"""``lab-fava``: Fava's own command, answering 403 to requests for any host but a loopback one.

The command is ``fava``'s (``fava.cli.main``: the same arguments, options and
environment variables ``FAVA_*``) plus ``--allowed-host``. While it runs, every
app Fava's command builds gets ``hosts.HostCheck`` in front of it: ``fava.cli``
imports ``fava.application.create_app`` when it runs, so wrapping that function
is the one place to hook in without copying Fava's command.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator, Sequence
from typing import Any

import click
import fava.application
from fava.cli import main as fava_main
from flask import Flask

from . import extension
from .hosts import HostCheck

ALLOWED_HOST = click.Option(
    ["--allowed-host"],
    multiple=True,
    metavar="<host>",
    help="Also answer requests whose Host header names <host> (with any port). Repeatable.",
)


@contextlib.contextmanager
def host_checked_apps(allowed_hosts: Sequence[str]) -> Iterator[None]:
    """Inside the block, each Fava app ``create_app`` builds answers only loopback and allowed hosts."""
    create_app = fava.application.create_app

    def create_checked_app(*args: Any, **kwargs: Any) -> Flask:
        app = create_app(*args, **kwargs)
        app.wsgi_app = HostCheck(app.wsgi_app, allowed_hosts)  # type: ignore[method-assign]
        return app

    fava.application.create_app = create_checked_app
    try:
        yield
    finally:
        fava.application.create_app = create_app


def run(allowed_host: tuple[str, ...], **fava_arguments: Any) -> None:
    """Run Fava's command with ``fava_arguments`` behind the host check."""
    if fava_main.callback is None:  # pragma: no cover - fava.cli.main is a click command with a body
        raise click.ClickException("fava.cli.main has no callback")
    # Figures ready before the first view (docs/dashboard.md, "Speed").
    extension.PREWARM = True
    with host_checked_apps(allowed_host):
        fava_main.callback(**fava_arguments)


main = click.Command(
    name="lab-fava",
    params=[*fava_main.params, ALLOWED_HOST],
    callback=run,
    context_settings=fava_main.context_settings,
    help=(
        "Start Fava for FILENAMES on http://<host>:<port>, as `fava` does, answering 403 to any "
        "request whose Host header is not localhost, 127.0.0.0/8 or [::1] (with any port) or a "
        "host named with --allowed-host. See docs/security.md.\n\n"
        # Fava's own notes (BEANCOUNT_FILE, FAVA_* variables), without its first line.
        + inspect.cleandoc((fava_main.help or "").partition("\n")[2])
    ),
)

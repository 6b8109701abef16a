"""Answer 403 to a request whose ``Host`` is not a loopback name or address (DNS rebinding).

A web page can rebind its own name to 127.0.0.1 and then talk to a local server as
same-origin; the one thing it cannot change is the ``Host`` header, which still
names the attacker's site. Jupyter, VS Code and Vite check it; Fava does not, so
``lab-fava`` puts this middleware in front of Fava.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

LOOPBACK_NAMES = frozenset({"localhost"})


def host_name(host: str) -> str | None:
    """The name or address of a ``Host`` header without its port, lower case; None if malformed."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal: "[::1]" or "[::1]:5000"
        address, bracket, port = host[1:].partition("]")
        if not bracket or (port and not (port.startswith(":") and port[1:].isdigit())):
            return None
        return f"[{address}]"
    name, colon, port = host.partition(":")
    if not name or (colon and not port.isdigit()):
        return None
    return name


def is_loopback(name: str) -> bool:
    """Whether ``name`` (from ``host_name``) is ``localhost``, in 127.0.0.0/8 or ``[::1]``."""
    if name in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
    except ValueError:
        return False
    return address.is_loopback and (address.version == 4 or name.startswith("["))


class HostCheck:
    """WSGI middleware: pass requests for a loopback host or a named one, refuse the rest with 403."""

    def __init__(self, app: WSGIApplication, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(filter(None, (host_name(host) for host in allowed_hosts)))

    def allows(self, host: str | None) -> bool:
        """Whether a request with this ``Host`` header (None: none sent) may reach the app."""
        name = host_name(host) if host is not None else None
        return name is not None and (is_loopback(name) or name in self.allowed)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        if self.allows(host):
            return self.app(environ, start_response)
        body = (
            f"403 Forbidden: lab-fava answers only requests for localhost, 127.0.0.1 or [::1], "
            f"not for Host {host!r}. To allow a name, start lab-fava with --allowed-host NAME.\n"
        ).encode()
        start_response(
            "403 Forbidden",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

"""Fava safe to leave running: no code or file from a request, no DNS rebinding (docs/security.md).

Over HTTP, with Fava's Flask app and Flask's test client, then with ``lab-fava``
started for real on a free loopback port and driven with ``http.client``:

- the dashboard extension the books load (``ailab_books.dashboard.extension``)
  answers 404 to fava-dashboards' ``v1_render_panel``, whose Jinja template
  from the request body runs Python in Fava's process upstream (the control
  test shows Fava's pid coming back from upstream), and to its ``query``;
- its ``v2_config`` serves only a script config inside the books' folder: a
  YAML config's ``utils.path`` (upstream sends the named file, even under
  ``--read-only``) and a config outside the folder are refused with 403;
- Fava's query API refuses, with 403, shell commands and statements that do
  more than read (``.output FILE`` truncates FILE upstream, from a GET), and
  still runs queries and saved queries;
- ``lab-fava`` answers 403 to ``Host: attacker.example`` and serves
  ``localhost``, ``127.0.0.1``, ``[::1]`` (with a port) and a host named with
  ``--allowed-host``.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import fava.application
import pytest
from flask import Flask
from flask.testing import FlaskClient

from ailab_books.dashboard.cli import host_checked_apps
from ailab_books.dashboard.hosts import HostCheck, host_name, is_loopback
from ailab_books.dashboard.query_guard import refusal

ROOT = Path(__file__).resolve().parent.parent
SAFE = "ailab_books.dashboard.extension"
UPSTREAM = "fava_dashboards"
PID_TEMPLATE = "{{ cycler.__init__.__globals__.os.getpid() }}"
SECRET = "the-secret-outside-the-books"
PAGE = "export default { dashboards: [] };\n"

BOOKS = """\
option "title" "Books"
option "operating_currency" "USD"
2025-01-01 open Assets:Cash
2025-01-01 open Income:Sales
2025-01-02 * "Sale"
  Assets:Cash    10 USD
  Income:Sales
2025-01-01 query "accounts" "SELECT account"
"""


def _books(tmp_path: Path, extension: str = SAFE, config: str = "page.tsx") -> Path:
    """Small books in ``tmp_path/books`` loading ``extension`` with ``config``; a secret file beside them."""
    folder = tmp_path / "books"
    folder.mkdir()
    (folder / "page.tsx").write_text(PAGE, encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "page.tsx").write_text(f"// {SECRET}\n{PAGE}", encoding="utf-8")
    # A YAML config whose utils.path names a file outside the books (upstream sends it).
    (folder / "page.yaml").write_text(
        f"dashboards: []\nutils:\n  path: {tmp_path / 'secret.txt'}\n", encoding="utf-8"
    )
    main = folder / "main.beancount"
    main.write_text(
        BOOKS + f'2025-01-01 custom "fava-extension" "{extension}" "{{\'config\': \'{config}\'}}"\n'
    )
    return main


def _client(main: Path, *, read_only: bool = False) -> FlaskClient:
    app: Flask = fava.application.create_app([str(main)], read_only=read_only)
    return app.test_client()


def _ext(endpoint: str) -> str:
    return f"/books/extension/FavaDashboards/{endpoint}"


def _render_panel(client: FlaskClient) -> tuple[int, str]:
    response = client.post(
        _ext("v1_render_panel"),
        json={"panel": {"title": "t", "type": "jinja2", "template": PID_TEMPLATE, "queries": []}},
    )
    return response.status_code, response.get_data(as_text=True)


# ------------------------------------------------------------------ the extension


def test_upstream_evaluates_a_template_from_the_request(tmp_path: Path) -> None:
    """The control: what the safe extension prevents happens with upstream fava-dashboards."""
    status, body = _render_panel(_client(_books(tmp_path, UPSTREAM)))
    assert status == 200
    assert str(os.getpid()) in body


@pytest.mark.parametrize(("read_only", "status"), [(False, 404), (True, 401)])
def test_template_post_is_refused_and_nothing_evaluated(tmp_path: Path, read_only: bool, status: int) -> None:
    got, body = _render_panel(_client(_books(tmp_path), read_only=read_only))
    assert got == status
    assert str(os.getpid()) not in body


def test_request_bql_endpoint_is_gone(tmp_path: Path) -> None:
    response = _client(_books(tmp_path)).get(_ext("query"), query_string={"bql": "SELECT account"})
    assert response.status_code == 404
    assert "Assets:Cash" not in response.get_data(as_text=True)


def test_upstream_yaml_config_serves_a_file_outside_the_books(tmp_path: Path) -> None:
    """The control: upstream sends the file a YAML config's ``utils.path`` names, even read-only."""
    response = _client(_books(tmp_path, UPSTREAM, "page.yaml"), read_only=True).get(_ext("v2_config"))
    assert SECRET in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("page.yaml", 'dashboard config "page.yaml" refused: only a script config'),
        ("../secret.txt", 'dashboard config "secret.txt" refused: only a script config'),
        ("../elsewhere/page.tsx", "elsewhere/page.tsx\" refused: it is outside the books' folder"),
    ],
)
@pytest.mark.parametrize("read_only", [False, True])
def test_config_file_trick_is_refused(tmp_path: Path, config: str, message: str, read_only: bool) -> None:
    response = _client(_books(tmp_path, SAFE, config), read_only=read_only).get(_ext("v2_config"))
    body = response.get_json()
    assert response.status_code == 403
    assert body["success"] is False
    assert message in body["error"]
    assert SECRET not in response.get_data(as_text=True)


def test_the_page_still_gets_what_it_uses(tmp_path: Path) -> None:
    client = _client(_books(tmp_path))
    config = client.get(_ext("v2_config"))
    assert config.status_code == 200
    assert config.get_json() == {"success": True, "data": {"configJs": PAGE}}
    ledger = client.get(_ext("v2_ledger"))
    assert ledger.status_code == 200
    assert ledger.get_json()["data"]["ledgerData"]["ccy"] == "USD"
    assert client.get("/books/extension/FavaDashboards/").status_code == 200
    script = client.get("/books/extension_js_module/FavaDashboards.js")
    assert script.status_code == 200
    assert len(script.get_data()) > 100_000  # upstream's bundled page


def test_the_example_books_load_the_safe_extension() -> None:
    """The example's dashboard directive (dashboard/fava.beancount) names the safe class."""
    app = fava.application.create_app([str(ROOT / "ledger" / "main.beancount")])
    client = app.test_client()
    slug = client.get("/").headers["Location"].strip("/").split("/")[0]
    status, body = (lambda r: (r.status_code, r.get_data(as_text=True)))(
        client.post(f"/{slug}/extension/FavaDashboards/v1_render_panel", json={"panel": {"type": "jinja2"}})
    )
    assert (status, str(os.getpid()) in body) == (404, False)
    config = client.get(f"/{slug}/extension/FavaDashboards/v2_config")
    assert config.status_code == 200
    text = (ROOT / "dashboard" / "unit-economics.tsx").read_text(encoding="utf-8")
    assert config.get_json()["data"]["configJs"] == text


# ------------------------------------------------------------------ Fava's query API

WRITING_QUERIES = [
    ".output {victim}",
    "  .output {victim}",
    ".set format csv",
    "set format csv",
    "parse SELECT 1",
    "CREATE TABLE t USING 'csv://{secret}'",
    "INSERT INTO entries (date) VALUES (2025-01-01)",
    ".explain CREATE TABLE t USING 'csv://{secret}'",
]


def test_upstream_query_api_truncates_a_file_from_a_get(tmp_path: Path) -> None:
    """The control: without the safe extension, Fava's own ``.output`` opens the file for writing."""
    main = _books(tmp_path, UPSTREAM)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    _client(main, read_only=True).get("/books/api/query", query_string={"query_string": f".output {victim}"})
    assert victim.read_text(encoding="utf-8") == ""


@pytest.mark.parametrize("query", WRITING_QUERIES)
@pytest.mark.parametrize("path", ["/books/api/query", "/books/download-query/query_result.csv"])
def test_query_api_refuses_more_than_reading(tmp_path: Path, query: str, path: str) -> None:
    main = _books(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    client = _client(main, read_only=True)
    text = query.format(victim=victim, secret=tmp_path / "secret.txt")
    response = client.get(path, query_string={"query_string": text})
    assert response.status_code == 403
    assert response.get_json()["error"].startswith("Refused: ")
    assert victim.read_text(encoding="utf-8") == "precious"
    # The shell every request shares still answers.
    after = client.get("/books/api/query", query_string={"query_string": "SELECT account"})
    assert after.status_code == 200
    assert ["Assets:Cash"] in after.get_json()["data"]["rows"]


@pytest.mark.parametrize(
    "query",
    ["SELECT account", ".run accounts", "run accounts", "BALANCES", ".explain SELECT account", ".help"],
)
def test_query_api_still_reads(tmp_path: Path, query: str) -> None:
    response = _client(_books(tmp_path)).get("/books/api/query", query_string={"query_string": query})
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("SELECT account", False),
        ("garbage (", False),  # Fava parses it too, and shows the parse error
        (".run accounts", False),
        (".output /tmp/x", True),
        (".output/tmp/x", True),
        (".OUTPUT /tmp/x", True),
        ("set;", True),
        ("history", True),  # harmless, but only what is listed passes
        (".tables", False),
        (".format csv", True),
        (".reload", True),
    ],
)
def test_refusal(query: str, refused: bool) -> None:
    assert (refusal(query) is not None) == refused


# ------------------------------------------------------------------ the Host check


@pytest.mark.parametrize(
    ("host", "name", "loopback"),
    [
        ("localhost", "localhost", True),
        ("LocalHost:5000", "localhost", True),
        ("127.0.0.1:5000", "127.0.0.1", True),
        ("127.8.9.10", "127.8.9.10", True),
        ("[::1]:5000", "[::1]", True),
        ("[::1]", "[::1]", True),
        ("::1", None, False),  # an IPv6 literal in Host is always bracketed
        ("attacker.example", "attacker.example", False),
        ("localhost.attacker.example:80", "localhost.attacker.example", False),
        ("127.0.0.1.nip.io", "127.0.0.1.nip.io", False),
        ("0.0.0.0:5000", "0.0.0.0", False),
        ("[::2]:5000", "[::2]", False),
        ("localhost:http", None, False),
        ("[::1]x", None, False),
        ("", None, False),
    ],
)
def test_host_name_and_loopback(host: str, name: str | None, loopback: bool) -> None:
    assert host_name(host) == name
    assert (name is not None and is_loopback(name)) == loopback


def test_host_check_refuses_a_request_without_host() -> None:
    assert not HostCheck(fava.application.create_app([])).allows(None)


@pytest.fixture
def checked_client(tmp_path: Path) -> FlaskClient:
    with host_checked_apps(["Books.Internal"]):
        app = fava.application.create_app([str(_books(tmp_path))])
    return app.test_client()


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("attacker.example", 403),
        ("attacker.example:5000", 403),
        ("localhost:5000", 200),
        ("127.0.0.1:5000", 200),
        ("[::1]:5000", 200),
        ("books.internal:5000", 200),
        ("books.internal.attacker.example", 403),
    ],
)
def test_host_check_in_front_of_fava(checked_client: FlaskClient, host: str, status: int) -> None:
    response = checked_client.get("/books/income_statement/", headers={"Host": host})
    assert response.status_code == status
    if status == 403:
        assert "--allowed-host" in response.get_data(as_text=True)


def test_host_check_applies_only_inside_lab_fava(tmp_path: Path) -> None:
    """Fava's create_app is Fava's own again after the block (plain ``fava`` is unchanged)."""
    with host_checked_apps([]):
        pass
    app = fava.application.create_app([str(_books(tmp_path))])
    assert (
        app.test_client().get("/books/income_statement/", headers={"Host": "attacker.example"}).status_code
        == 200
    )


# ------------------------------------------------------------------ lab-fava for real


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def lab_fava(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``lab-fava`` on a free loopback port for small books; stopped after the test."""
    command = shutil.which("lab-fava", path=str(Path(sys.executable).parent))
    assert command is not None, "lab-fava is not installed (pip install -e .)"
    port = _free_port()
    main = _books(tmp_path)
    args = [
        command,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--allowed-host",
        "books.internal",
        str(main),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"lab-fava exited with {proc.returncode}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "lab-fava did not listen within 60 s"
                time.sleep(0.2)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _request(
    port: int, host: str, path: str, method: str = "GET", body: str | None = None
) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Host": host, "Content-Type": "application/json"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_lab_fava_over_http(lab_fava: tuple[int, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    port, proc = lab_fava
    page = "/books/income_statement/"
    assert _request(port, "attacker.example", page)[0] == 403
    assert _request(port, f"attacker.example:{port}", page)[0] == 403
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"books.internal:{port}"):
        assert _request(port, host, page)[0] == 200, host

    panel = json.dumps({"panel": {"type": "jinja2", "template": PID_TEMPLATE}})
    status, body = _request(port, f"localhost:{port}", _ext("v1_render_panel"), "POST", panel)
    assert status == 404
    assert str(proc.pid) not in body
    # Through a rebound name the request never reaches Fava.
    status, body = _request(port, "attacker.example", _ext("v1_render_panel"), "POST", panel)
    assert status == 403
    assert str(proc.pid) not in body

    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    status, _ = _request(port, f"localhost:{port}", f"/books/api/query?query_string=.output%20{victim}")
    assert status == 403
    assert victim.read_text(encoding="utf-8") == "precious"
    assert _request(port, f"localhost:{port}", _ext("v2_config"))[0] == 200

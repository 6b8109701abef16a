"""Fava safe to leave running: no code or file from a request, no DNS rebinding (docs/security.md).

Over HTTP, with Fava's Flask app and Flask's test client, then with ``lab-fava``
started for real on a free loopback port and driven with ``http.client``:

- the books' own extension (``ailab_books.dashboard.extension.UnitEconomics``)
  answers 404 to fava-dashboards' endpoints, whose Jinja template or BQL from
  the request ran in Fava's process upstream (``v1_render_panel``, ``query``)
  or sent a file a config named (``v2_config``): a live payload (the control
  test runs it in Fava's own Jinja) is evaluated by none of them;
- its ``script`` endpoint serves the page's two scripts by name from a fixed
  table, and 404 for any other name (a path, another case, none);
- the books' facts in the page (``ue-ledger``) are JSON that cannot close its
  script tag, whatever the books' metadata hold;
- a config on the ``fava-extension`` line is a Fava error at that line saying
  the page takes no config (the rest of Fava still answers);
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
import re
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
from helpers import line_of

from ailab_books.dashboard.cli import host_checked_apps
from ailab_books.dashboard.hosts import HostCheck, host_name, is_loopback
from ailab_books.dashboard.query_guard import refusal

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboard"
SAFE = "ailab_books.dashboard.extension"
PID_TEMPLATE = "{{ cycler.__init__.__globals__.os.getpid() }}"
SECRET = "the-secret-outside-the-books"
#: The page's two scripts, as ``script?name=`` names them.
SCRIPTS = {
    "page": DASHBOARD / "static" / "unit-economics.js",
    "echarts": DASHBOARD / "static" / "echarts.min.js",
}

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


def _books(tmp_path: Path, *, config: str | None = None, extension: bool = True, extra: str = "") -> Path:
    """Small books in ``tmp_path/books`` loading the books' extension (``config`` on its line, if
    any; none at all without ``extension``); a secret file beside them."""
    folder = tmp_path / "books"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    (folder / "page.yaml").write_text(f"dashboards: []\nutils:\n  path: {tmp_path / 'secret.txt'}\n")
    line = ""
    if extension:
        line = f'2025-01-01 custom "fava-extension" "{SAFE}"' + (f' "{config}"' if config else "") + "\n"
    main = folder / "main.beancount"
    main.write_text(BOOKS + extra + line, encoding="utf-8")
    return main


def _client(main: Path, *, read_only: bool = False) -> FlaskClient:
    # The polling watcher: no inotify instance per app (the many apps here would exhaust them).
    app: Flask = fava.application.create_app([str(main)], read_only=read_only, poll_watcher=True)
    return app.test_client()


def _ext(endpoint: str) -> str:
    return f"/books/extension/UnitEconomics/{endpoint}"


def _mkdir_template(path: Path) -> str:
    """A Jinja template that, evaluated, creates the folder ``path``: a trace a test can look for."""
    return f"{{{{ cycler.__init__.__globals__.os.mkdir('{path}') }}}}"


def _render_panel(client: FlaskClient, template: str = PID_TEMPLATE) -> tuple[int, str]:
    response = client.post(
        _ext("v1_render_panel"),
        json={"panel": {"title": "t", "type": "jinja2", "template": template, "queries": []}},
    )
    return response.status_code, response.get_data(as_text=True)


# ------------------------------------------------------------------ the extension


def test_the_payload_is_live(tmp_path: Path) -> None:
    """The control: the templates below run Python when Jinja evaluates them (as fava-dashboards'
    ``v1_render_panel`` did with Fava's own environment), so their absence below means something."""
    trace = tmp_path / "evaluated"
    app = fava.application.create_app([str(_books(tmp_path))], poll_watcher=True)
    assert app.jinja_env.from_string(PID_TEMPLATE).render() == str(os.getpid())
    app.jinja_env.from_string(_mkdir_template(trace)).render()
    assert trace.is_dir()


@pytest.mark.parametrize(("read_only", "status"), [(False, 404), (True, 401)])
def test_template_post_is_refused_and_nothing_evaluated(tmp_path: Path, read_only: bool, status: int) -> None:
    trace = tmp_path / "evaluated"
    client = _client(_books(tmp_path), read_only=read_only)
    got, body = _render_panel(client)
    assert got == status
    assert str(os.getpid()) not in body
    # Posted to every endpoint the extension has, and to its page: none evaluates it.
    payload = {"panel": {"type": "jinja2", "template": _mkdir_template(trace)}, "bql": "SELECT account"}
    for endpoint in ("v1_render_panel", "v2_unit_economics", "v2_saved_query", "v2_model_pnl", "script"):
        assert client.post(_ext(endpoint), json=payload).status_code == status, endpoint
    assert client.post(_ext(""), json=payload).status_code == (401 if read_only else 405)  # the page: GET
    assert not trace.exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "v1_render_panel",
        "query?bql=SELECT%20account",
        "query?bql=SELECT%20account&name=accounts",
        "v2_config",
        "v2_ledger",
        "v1_source",
    ],
)
def test_fava_dashboards_endpoints_are_gone(tmp_path: Path, endpoint: str) -> None:
    """fava-dashboards' request-driven endpoints: 404, with nothing of the books in the answer."""
    response = _client(_books(tmp_path)).get(_ext(endpoint))
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Assets:Cash" not in body and SECRET not in body and str(os.getpid()) not in body


def test_the_extension_serves_only_its_endpoints(tmp_path: Path) -> None:
    """What the extension registers: the page's four endpoints, GET only, and nothing else (a new
    one must be added here, with its own tests)."""
    app = fava.application.create_app([str(_books(tmp_path))], poll_watcher=True)
    extension = app.config["LEDGERS"]["books"].extensions.get_extension("UnitEconomics")
    assert extension is not None
    assert set(extension.endpoints) == {
        ("script", "GET"),
        ("v2_unit_economics", "GET"),
        ("v2_saved_query", "GET"),
        ("v2_model_pnl", "GET"),
    }


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_serves_the_pages_scripts(tmp_path: Path, read_only: bool, name: str) -> None:
    response = _client(_books(tmp_path), read_only=read_only).get(_ext("script"), query_string={"name": name})
    assert response.status_code == 200
    assert response.mimetype in {"text/javascript", "application/javascript"}
    assert response.get_data() == SCRIPTS[name].read_bytes()


@pytest.mark.parametrize(
    "query",
    [
        "name=../extension.py",
        "name=..%2Fextension.py",
        "name=/etc/passwd",
        "name=static/unit-economics.js",
        "name=unit-economics.js",
        "name=echarts.min.js",
        "name=PAGE",
        "name=Echarts",
        "name=page%00",
        "name=%20page",
        "name=",
        "",
        "script=page",
    ],
)
def test_script_answers_404_to_any_other_name(tmp_path: Path, query: str) -> None:
    response = _client(_books(tmp_path)).get(f"{_ext('script')}?{query}")
    assert response.status_code == 404
    assert response.get_json() == {"error": "no such script"}


def _facts(html: str) -> tuple[str, object]:
    """The text of the page's ``<script id="ue-ledger">`` and the JSON it holds."""
    found = re.search(r'<script type="application/json" id="ue-ledger">(.*?)</script>', html, re.S)
    assert found, "no ue-ledger facts in the page"
    return found.group(1), json.loads(found.group(1))


BREAKOUT = "</script><script>alert(1)</script><!--"


@pytest.mark.parametrize("read_only", [False, True])
def test_books_facts_cannot_close_their_script_tag(tmp_path: Path, read_only: bool) -> None:
    """A cost class (an ``open``'s metadata: any text) that closes the JSON's script tag stays data:
    the page's HTML holds no ``</script><script>`` from it and the JSON reads back the same text."""
    extra = f'2025-01-01 open Expenses:Odd\n  cost-class: "{BREAKOUT}"\n'
    client = _client(_books(tmp_path, extra=extra), read_only=read_only)
    html = client.get(_ext("")).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<!--" not in html.split('id="ue-ledger"')[1]
    text, facts = _facts(html)
    assert isinstance(facts, dict)
    assert facts["costClasses"] == {"Expenses:Odd": BREAKOUT}
    assert "</" not in text
    # The tag the page's script reads is followed by the page's own container, intact.
    assert html.count('id="ue-ledger"') == 1 and '<div id="ue-app">' in html


CONFIGS = [
    "{'config': 'page.tsx'}",  # fava-dashboards' config, left on the line
    "page.yaml",
    "../secret.txt",
    "{'config': '../secret.txt'}",
]


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize("config", CONFIGS)
def test_a_config_is_a_located_fava_error(tmp_path: Path, config: str, read_only: bool) -> None:
    """A config on the fava-extension line: one Fava error at that line saying the page takes none;
    the page is not served, no file the config names is read, and Fava's other pages still answer."""
    main = _books(tmp_path, config=config)
    app = fava.application.create_app([str(main)], read_only=read_only, poll_watcher=True)
    client = app.test_client()
    errors = client.get("/books/api/errors").get_json()["data"]
    assert [(e["source"]["filename"], e["source"]["lineno"]) for e in errors] == [
        (str(main), line_of(main, "fava-extension"))
    ]
    (error,) = errors
    assert (
        "the Unit economics page takes no config; remove it from the fava-extension line" in error["message"]
    )
    assert error["type"] == "FavaExtensionError"
    # Fava's own errors page and the count every page shows say the same.
    assert "takes no config" in client.get("/books/errors/").get_data(as_text=True)
    assert len(app.config["LEDGERS"]["books"].errors) == 1
    # Not a page with an unknown config: no page at all, and nothing read from the config.
    for path in (_ext(""), _ext("script?name=page"), "/books/extension_js_module/UnitEconomics.js"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert SECRET not in response.get_data(as_text=True)
    # The books themselves are unaffected.
    assert client.get("/books/income_statement/").status_code == 200
    query = "SELECT account, sum(number) GROUP BY account ORDER BY account"
    rows = client.get("/books/api/query", query_string={"query_string": query}).get_json()["data"]["rows"]
    assert rows == [["Assets:Cash", 10], ["Income:Sales", -10]]


def _edited(main: Path, old: str, new: str) -> None:
    """Replace ``old`` with ``new`` in ``main``, with a later mtime (Fava's polling watcher reloads)."""
    main.write_text(main.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    later = main.stat().st_mtime_ns + 2_000_000_000
    os.utime(main, ns=(later, later))


def test_a_config_keeps_the_query_guard(tmp_path: Path) -> None:
    main = _books(tmp_path, config="{'config': 'page.tsx'}")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    client = _client(main, read_only=True)
    response = client.get("/books/api/query", query_string={"query_string": f".output {victim}"})
    assert victim.read_text(encoding="utf-8") == "precious"
    assert response.status_code == 403


def test_a_config_added_while_fava_runs_is_an_error(tmp_path: Path) -> None:
    main = _books(tmp_path)
    client = _client(main)
    assert client.get("/books/api/errors").get_json()["data"] == []
    _edited(main, f'"{SAFE}"', f"\"{SAFE}\" \"{{'config': 'page.tsx'}}\"")
    assert client.get("/books/income_statement/").status_code == 200  # Fava reloads the books
    errors = client.get("/books/api/errors").get_json()["data"]
    assert [(e["source"]["lineno"], "takes no config" in e["message"]) for e in errors] == [
        (line_of(main, "fava-extension"), True)
    ]
    assert client.get(_ext("")).status_code == 404
    # Removed again while Fava runs: no error, and the page is back, without a restart.
    _edited(main, f"\"{SAFE}\" \"{{'config': 'page.tsx'}}\"", f'"{SAFE}"')
    assert client.get("/books/income_statement/").status_code == 200
    assert client.get("/books/api/errors").get_json()["data"] == []
    assert client.get(_ext("")).status_code == 200
    assert client.get(_ext("script"), query_string={"name": "page"}).status_code == 200


def test_the_page_still_gets_what_it_uses(tmp_path: Path) -> None:
    client = _client(_books(tmp_path))
    page = client.get(_ext(""))
    assert page.status_code == 200
    _, facts = _facts(page.get_data(as_text=True))
    assert isinstance(facts, dict) and facts["ccy"] == "USD" and facts["dateLast"] == "2025-01-02"
    module = client.get("/books/extension_js_module/UnitEconomics.js")
    assert module.status_code == 200
    # The module Fava imports on every page is ours and small (the page's bulk is fetched on the page).
    assert module.get_data() == (DASHBOARD / "UnitEconomics.js").read_bytes()
    assert len(module.get_data()) < 20_000
    for name in SCRIPTS:
        assert client.get(_ext("script"), query_string={"name": name}).status_code == 200


def test_the_example_books_load_the_safe_extension() -> None:
    """The example's dashboard directive (dashboard/fava.beancount) loads the books' own class."""
    app = fava.application.create_app([str(ROOT / "ledger" / "main.beancount")])
    client = app.test_client()
    slug = client.get("/").headers["Location"].strip("/").split("/")[0]
    assert app.config["LEDGERS"][slug].errors == []
    extensions = app.config["LEDGERS"][slug].extensions.extension_details
    assert [(e.name, e.report_title) for e in extensions] == [("UnitEconomics", "Unit economics")]
    response = client.post(
        f"/{slug}/extension/UnitEconomics/v1_render_panel", json={"panel": {"type": "jinja2"}}
    )
    assert (response.status_code, str(os.getpid()) in response.get_data(as_text=True)) == (404, False)
    script = client.get(f"/{slug}/extension/UnitEconomics/script?name=page")
    assert script.get_data() == SCRIPTS["page"].read_bytes()


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


def test_plain_fava_query_api_truncates_a_file_from_a_get(tmp_path: Path) -> None:
    """The control: without the books' extension, Fava's own ``.output`` opens the file for writing."""
    main = _books(tmp_path, extension=False)
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
    # The page and its script are served; fava-dashboards' config endpoint is gone.
    assert _request(port, f"localhost:{port}", _ext(""))[0] == 200
    status, body = _request(port, f"localhost:{port}", _ext("script?name=page"))
    assert (status, body) == (200, SCRIPTS["page"].read_text(encoding="utf-8"))
    assert _request(port, f"localhost:{port}", _ext("v2_config"))[0] == 404

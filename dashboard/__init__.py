"""The Fava side of the books (installed as ``ailab_books.dashboard``), safe to leave running.

The folder also holds the *Unit economics* page (``UnitEconomics.js``, the module
Fava imports; ``static/``, the page's panels and an ECharts build) and the
directive that loads it (``fava.beancount``). See docs/security.md for the threat
model and docs/dashboard.md for the page.

One module per concern:

- ``extension``: ``UnitEconomics``, the books' own Fava extension: four read-only
  endpoints, none of which evaluates a template or a query, or opens a file, that a
  request names; it also makes Fava's query API run only read-only statements;
- ``figures``, ``model_pnl``, ``prerender``: the pages' figures (lab-report's code)
  and the headline rendered by the server;
- ``query_guard``: which query strings Fava's query shell may run for a request;
- ``hosts``: a WSGI middleware answering 403 to a request whose ``Host`` is not a
  loopback name or address (DNS rebinding);
- ``cli``: ``lab-fava``, Fava's own command behind that middleware.
"""

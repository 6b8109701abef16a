"""The Fava side of the books (installed as ``ailab_books.dashboard``), safe to leave running.

The folder also holds the *Unit economics* page (``unit-economics.tsx``) and the
directive that loads it (``fava.beancount``). See docs/security.md for the threat
model and docs/dashboard.md for the page.

One module per concern:

- ``extension``: ``FavaDashboards``, fava-dashboards with only the endpoints the
  page uses: no template from a request is evaluated, no file but the page's own
  script is served, and Fava's query API runs only read-only statements;
- ``query_guard``: which query strings Fava's query shell may run for a request;
- ``hosts``: a WSGI middleware answering 403 to a request whose ``Host`` is not a
  loopback name or address (DNS rebinding);
- ``cli``: ``lab-fava``, Fava's own command behind that middleware.
"""

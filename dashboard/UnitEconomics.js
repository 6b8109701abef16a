// The Unit economics report's script: Fava imports this module on every page
// (so it is kept small) and calls onExtensionPageLoad on the report's own page.
//
// It lays out the panels that static/unit-economics.js defines, as fava-dashboards
// did (tabs for the dashboards, `?dashboard=<slug>`; each panel a title and a box),
// and draws each one as soon as its own answer is in: an "html" panel's string, an
// "echarts" panel's option through ECharts (static/echarts.min.js). The page's
// module and ECharts come through the extension's `script` endpoint (a name,
// never a path), from the URLs the page's facts give; the panels ask for their
// data before ECharts is run. A panel that fails says so in its own box
// (role="alert"); the others still draw.

const EXTENSION = "UnitEconomics";

/** Fava's URL for this ledger, "/<bfile>/", read off this module's own URL. */
const BASE = new URL("..", import.meta.url).pathname;

/** Fava's filter parameters of the current URL (time, account, filter, ...), less our tab. */
function filterParams() {
  const params = new URLSearchParams(window.location.search);
  params.delete("dashboard");
  return params;
}

/** The URL of one of the extension's endpoints, with Fava's current filters. */
function urlFor(endpoint) {
  const url = new URL(`${BASE}extension/${EXTENSION}/${endpoint}`, window.location.origin);
  for (const [key, value] of filterParams()) {
    if (!url.searchParams.has(key)) url.searchParams.set(key, value);
  }
  return url.pathname + url.search;
}

/** A dashboard's name as it stands in the URL: "Model P&L" -> "model-p-l". */
const slug = (name) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");

const escapeHtml = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A module of the page (`page`, `echarts`) from the URL the server gives. The page's URL changes with each load of the books: its module caches its answers,
 * and after an edit Fava reloads the books and the page must not show the old figures. ECharts'
 * URL is the same for every load: it is imported once. */
const modules = new Map();
function pageModule(url) {
  let pending = modules.get(url);
  if (pending === undefined) {
    pending = import(url);
    // A failed fetch (the server restarting, say) is not kept: the next view of the page tries again.
    pending.catch(() => modules.delete(url));
    modules.set(url, pending);
  }
  return pending;
}

/** The charts of the page on screen, disposed of when Fava shows this page again or another one. */
let drawn = [];
function disposeCharts() {
  for (const { chart, observer } of drawn) {
    observer.disconnect();
    chart.dispose();
  }
  drawn = [];
}

const STYLE = `<style>
#ue-app .ue-tabs{display:flex;gap:0.3em;margin:0 0 0.8em;border-bottom:1px solid var(--border,#ccc)}
#ue-app .ue-tabs a{padding:0.35em 0.9em;border:1px solid transparent;border-bottom:none;border-radius:4px 4px 0 0;text-decoration:none}
#ue-app .ue-tabs a[aria-current=page]{border-color:var(--border,#ccc);background:var(--background,#fff);font-weight:600;margin-bottom:-1px}
#ue-app .ue-panels{display:flex;flex-wrap:wrap;gap:12px}
#ue-app .ue-panel{box-sizing:border-box;border:1px solid var(--border,#ddd);border-radius:4px;padding:8px 10px;min-width:0}
#ue-app .ue-panel>h3{margin:0 0 6px;font-size:1em;font-weight:600}
#ue-app .ue-loading{color:#777;font-style:italic}
#ue-app .ue-failed{color:#5f1410;background:#fdecea;border:1px solid #b3261e;border-radius:4px;padding:0.4em 0.8em}
</style>`;

/** The option each chart on screen drew, by panel title: what `window.unitEconomics` (for the
 * tests and the console; the page's record() writes it) must say when a page Fava has left behind
 * records a late answer into it. */
let onScreen = {};

/** Draw the dashboard the URL names (the first if none) into #ue-app. */
async function render() {
  const root = document.getElementById("ue-app");
  const facts = document.getElementById("ue-ledger");
  if (!root || !facts) return;
  disposeCharts();
  onScreen = {};
  window.unitEconomics = {}; // what each chart drew, for the tests (page: record())
  const books = JSON.parse(facts.textContent);
  const ledger = { ...books, urlFor, accounts: accountsOf(books.costClasses) };
  const serverHeadline = root.querySelector("[data-server-headline]");

  let page;
  try {
    page = await pageModule(books.scripts.page);
  } catch (error) {
    root.innerHTML = `${STYLE}<div class="ue-failed" role="alert">The page's script did not load: ${escapeHtml(error)}</div>`;
    return;
  }
  if (!root.isConnected) return; // Fava moved on to another page meanwhile
  const { dashboards } = page.default;
  const wanted = new URLSearchParams(window.location.search).get("dashboard");
  const shown = dashboards.find((d) => slug(d.name) === wanted) ?? dashboards[0];

  root.innerHTML = STYLE;
  const tabs = document.createElement("nav");
  tabs.className = "ue-tabs";
  for (const dashboard of dashboards) {
    const params = filterParams();
    params.set("dashboard", slug(dashboard.name));
    const link = document.createElement("a");
    link.href = `${BASE}extension/${EXTENSION}/?${params}`;
    link.textContent = dashboard.name;
    if (dashboard === shown) link.setAttribute("aria-current", "page");
    tabs.append(link);
  }
  const panels = document.createElement("div");
  panels.className = "ue-panels";
  root.append(tabs, panels);

  // Each panel asks for its data first; ECharts (591 kB) is fetched and run after, while the
  // answers are on their way, and only the charts wait for it.
  let echarts;
  const charting = () => (echarts ??= pageModule(books.scripts.echarts));
  const drawing = shown.panels.map((panel) => {
    const box = document.createElement("section");
    box.className = "ue-panel";
    box.style.width = panel.width === "100%" || !panel.width ? "100%" : `calc(${panel.width} - 6px)`;
    const title = document.createElement("h3");
    title.textContent = panel.title;
    const body = document.createElement("div");
    if (panel.height && panel.height !== "auto") body.style.height = panel.height;
    if (panel.serverRendered && serverHeadline) body.append(serverHeadline);
    else body.innerHTML = '<span class="ue-loading">computing…</span>';
    box.append(title, body);
    panels.append(box);
    return draw(panel, body, ledger, charting);
  });
  charting();
  await Promise.all(drawing);
}

/** One panel: its spec for these filters, drawn into `body`; an error is shown in the box. */
async function draw(panel, body, ledger, charting) {
  try {
    const spec = await panel.spec({ ledger, panel });
    const charts = panel.kind === "echarts" ? await charting().catch(chartsMissing) : null;
    if (!body.isConnected) {
      // Fava showed another page (a new filter) before this answer came: nothing to draw, but the
      // spec's record() went into the new page's window.unitEconomics: put back what that page drew.
      if (panel.kind === "echarts") {
        if (panel.title in onScreen) window.unitEconomics[panel.title] = onScreen[panel.title];
        else delete window.unitEconomics[panel.title];
      }
      return;
    }
    if (panel.kind === "html") {
      body.innerHTML = spec; // the page escapes every value it puts in (escapeHtml)
    } else if (panel.kind === "echarts") {
      body.innerHTML = "";
      const chart = charts.init(body);
      chart.setOption(spec);
      onScreen[panel.title] = spec;
      window.unitEconomics[panel.title] = spec; // again: a late answer of an old page may have replaced it
      const observer = new ResizeObserver(() => chart.resize());
      observer.observe(body);
      drawn.push({ chart, observer });
    } else {
      throw new Error(`unknown panel kind "${panel.kind}"`);
    }
  } catch (error) {
    console.error(`panel "${panel.title}"`, error);
    body.style.height = "";
    body.innerHTML = `<div class="ue-failed" role="alert">This panel failed: ${escapeHtml(error?.message ?? error)}</div>`;
  }
}

/** ECharts did not arrive (a dropped connection, the server restarting): each chart says so, the
 * html panels still show, and the next view of the page fetches it again (pageModule). */
function chartsMissing(error) {
  throw new Error(`the chart library (ECharts) did not load, open the page again: ${error?.message ?? error}`);
}

/** The page reads an account's cost class as `ledger.accounts[name].meta["cost-class"]`. */
function accountsOf(costClasses) {
  return Object.fromEntries(Object.entries(costClasses ?? {}).map(([name, cls]) => [name, { meta: { "cost-class": cls } }]));
}

export default {
  // Fava calls this on every page: leaving this one, its charts (and their observers) go.
  onPageLoad() {
    if (!document.getElementById("ue-app")) disposeCharts();
  },
  onExtensionPageLoad() {
    render().catch((error) => console.error("Unit economics page", error));
  },
};

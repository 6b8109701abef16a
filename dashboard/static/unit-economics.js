// The Unit economics and Model P&L pages: their panels, drawn by ../UnitEconomics.js.
// Each panel is {title, width, height, kind: "html" | "echarts", spec}; `spec({ledger})`
// returns the panel's HTML (every value escaped) or its ECharts option.
//
// Every per-token figure on this page (headline, margins, cost per line, tiers,
// models, tokens) comes from the books' own endpoint `v2_unit_economics`
// (dashboard/figures.py): lab-report's code (queries/economics.py) run on the whole
// books over the whole months that Fava's time filter covers, with a notice when a
// filter cannot apply to per-token figures. The GPU-hours and pools panels follow
// Fava's filters through its query API (`.run NAME`). Nothing here recomputes a
// figure: the code only picks columns, pivots rows into series and sums rows for
// the Sankey. See docs/dashboard.md.


// ---------------------------------------------------------------------------
// The saved queries this page reads, and the columns it reads from them.
// This table is the page's whole contract with queries/; tests/test_fava.py
// parses it and checks every name against the ledger's `query` directives.
// ---------------------------------------------------------------------------
// Per-token figures: gross-margin-per-mtok, net-margin-per-mtok, overhead-per-mtok,
// margin-by-tier, margin-by-model (through lab-report's summary / by_segment) and
// cost-stack, all read through v2_unit_economics; listed here for tests/test_fava.py.
const Q = {
  gross: "gross-margin-per-mtok", // via v2_unit_economics (summary)
  net: "net-margin-per-mtok", // via v2_unit_economics (summary)
  costStack: "cost-stack", // via v2_unit_economics: one <class>__<line>_per_mtok column per cost line (wide)
  byTier: "margin-by-tier", // via v2_unit_economics (by_segment tier)
  byModel: "margin-by-model", // via v2_unit_economics (by_segment model)
  gpuh: "gpu-hours-by-workload", // month, one column per workload (wide); follows Fava's filters
  audit: "allocation-audit", // pool, month, activity, target, amount, currency
};

// --- books check (see queries/checks.beancount and docs/mistakes.md) --------
// The saved query `books-check` lists what the plugins would have left behind
// had they run in order; any row means the books were loaded without
// ailab_books.plugins.classify / .allocate, or with them in the wrong order.
// It runs on the whole ledger, without the page's filters: a tag or account
// filter would make pools look unallocated.
const CHECK = "books-check";

/** A saved query's answer: its column names and its rows, one object per row.
 * @typedef {Record<string, any>} Row
 * @typedef {{columns: string[], rows: Row[]}} Table
 */

const cache = new Map();

/**
 * Run a saved query of the page's list on the entries Fava's filters select, through the
 * books' endpoint `v2_saved_query` (dashboard/figures.py: the report's runner, cached per
 * load and filter; the books check runs on the whole books whatever the filter).
 */
function runSaved(ledger, name) {
  const url = ledger.urlFor(`v2_saved_query?name=${encodeURIComponent(name)}`);
  let pending = cache.get(url);
  if (pending === undefined) {
    pending = fetch(url).then(async (resp) => {
      const body = await resp.json();
      if (!resp.ok || body.error !== undefined) {
        throw new Error(`saved query "${name}": ${body.error ?? resp.statusText}`);
      }
      return { columns: body.columns, rows: body.rows };
    });
    cache.set(url, pending);
  }
  return pending;
}

const escapeHtml = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const checks = new WeakMap();

/** The books check, run once per loaded ledger; never rejects. */
function booksChecked(ledger) {
  let check = checks.get(ledger);
  if (check === undefined) {
    check = booksCheck(ledger).catch((e) => `<div role="alert">books check failed: ${escapeHtml(e)}</div>`);
    checks.set(ledger, check);
  }
  return check;
}

/** The books-check banner: empty when the query finds nothing, else what is wrong and the fix. */
async function booksCheck(ledger) {
  const { rows } = await runSaved(ledger, CHECK);
  const where = (r) => `${r.account} in ${r.year}-${pad(r.month)}`;
  const unclassified = rows.filter((r) => !r.cost_class);
  const untagged = rows.filter((r) => r.cost_class && num(r.untagged) > 0);
  const unallocated = rows.filter((r) => r.cost_class === "shared" && !num(r.untagged) && num(r.change) !== 0);
  const line = (n, what, first, fix) => `<li><b>${n} ${what}</b> (first: ${escapeHtml(where(first))}). ${fix}</li>`;
  const items = [
    unclassified.length &&
      line(unclassified.length, "account-month(s) of expenses without a cost class", unclassified[0], 'The books were loaded without <code>plugin "ailab_books.plugins.classify"</code>: the main file needs <code>plugin "ailab_books.plugins.allocate"</code> then <code>plugin "ailab_books.plugins.classify"</code>. Or the account has no class (see Errors).'),
    untagged.length &&
      line(untagged.length, "account-month(s) with postings made after classify ran", untagged[0], 'The plugins run in the wrong order: put <code>plugin "ailab_books.plugins.allocate"</code> above <code>plugin "ailab_books.plugins.classify"</code> in the main file.'),
    unallocated.length &&
      line(unallocated.length, "pool-month(s) ending with money in a shared pool", unallocated[0], 'The books were loaded without <code>plugin "ailab_books.plugins.allocate"</code> (add it above the classify line), or an allocation failed (see Errors).'),
  ].filter(Boolean);
  if (!items.length)
    return "";
  return `<div role="alert" style="border:2px solid #b3261e;background:#fdecea;color:#5f1410;padding:0.6em 1em">
<b>Do not use these figures: the books were not loaded as the reports need.</b><ul style="margin:0.3em 0 0">${items.join("")}</ul></div>`;
}

/** The first of `names` that the table has, case-insensitively. */
function col(table, query, ...names) {
  for (const name of names) {
    const found = table.columns.find((c) => c.toLowerCase() === name.toLowerCase());
    if (found)
      return found;
  }
  throw new Error(`saved query "${query}" has none of the columns ${names.join(", ")} (has ${table.columns.join(", ")})`);
}

/** A query cell as a number: Decimal, int, Amount or single-currency Inventory; null stays null. */
function num(value, ccy) {
  if (value === null || value === undefined || value === "")
    return null;
  if (typeof value === "number")
    return value;
  if (typeof value === "string")
    return Number(value);
  if (typeof value === "object" && "number" in value)
    return Number(value.number);
  if (typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0)
      return 0;
    if (ccy && ccy in value)
      return Number(value[ccy]);
    return Number(value[keys[0]]);
  }
  return null;
}

const pad = (n) => String(n).padStart(2, "0");

/** "YYYY-MM" of a row: from a period/month string, year+month ints, or a date. */
function monthOf(table, row) {
  const lower = Object.fromEntries(table.columns.map((c) => [c.toLowerCase(), c]));
  for (const key of ["period", "month", "ym", "date"]) {
    const v = lower[key] ? row[lower[key]] : undefined;
    if (typeof v === "string" && /^\d{4}-\d{2}/.test(v))
      return v.slice(0, 7);
  }
  if (lower["year"] && lower["month"] && typeof row[lower["month"]] === "number") {
    return `${row[lower["year"]]}-${pad(row[lower["month"]])}`;
  }
  throw new Error(`cannot tell the month of a row with columns ${table.columns.join(", ")}`);
}

/** Months shown: those of the filter (or the ledger), clamped to the data. */
function months(ledger) {
  const out = [];
  let [y, m] = ledger.dateFirst.split("-").map(Number);
  const [ly, lm] = ledger.dateLast.split("-").map(Number);
  while (y < ly || (y === ly && m <= lm)) {
    out.push(`${y}-${pad(m)}`);
    if (++m > 12) {
      m = 1;
      y++;
    }
  }
  return out;
}

/** Pivot long rows (month, key, value) into one series per key over `axis`. */
function pivot(ledger, table, keyCol, valueCol, axis) {
  const series = new Map();
  const keyOf = typeof keyCol === "string" ? (r) => String(r[keyCol]) : keyCol;
  for (const row of table.rows) {
    const key = keyOf(row);
    const i = axis.indexOf(monthOf(table, row));
    if (i < 0)
      continue;
    if (!series.has(key))
      series.set(key, axis.map(() => null));
    const v = num(row[valueCol], ledger.ccy);
    if (v === null)
      continue;
    const arr = series.get(key);
    arr[i] = (arr[i] ?? 0) + v;
  }
  return new Map([...series.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** One series per column of a wide table (one row per month) over `axis`. */
function columnsAsSeries(ledger, table, columns, axis) {
  const series = new Map(columns.map(({ label }) => [label, axis.map(() => null)]));
  for (const row of table.rows) {
    const i = axis.indexOf(monthOf(table, row));
    if (i < 0)
      continue;
    for (const { column, label } of columns)
      series.get(label)[i] = num(row[column], ledger.ccy);
  }
  // A column that is empty or zero in every month only clutters the legend.
  return new Map([...series.entries()].filter(([, data]) => data.some((v) => v !== null && v !== 0)));
}

/** `axis` from the first to the last month that has a row of `table` (all of it when none has). */
function recordedMonths(table, axis) {
  const seen = new Set(table.rows.map((row) => monthOf(table, row)));
  const first = axis.findIndex((m) => seen.has(m));
  const last = axis.length - 1 - [...axis].reverse().findIndex((m) => seen.has(m));
  return first < 0 ? axis : axis.slice(first, last + 1);
}

/** "datacenter_ops_per_mtok" -> "Datacenter ops"; "other_rnd" -> "Other R&D". */
const labelOf = (column, suffix = "") => {
  const words = column
    .slice(0, column.length - suffix.length)
    .replace(/_/g, " ")
    .replace(/\brnd\b/g, "R&D")
    .replace(/\bsga\b/g, "SG&A")
    .trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
};

/** The cost class whose accounts are cost of serving (gross view): ailab_books.plugins.classify's name. */
const COGS_CLASS = "inference";

/** How each cost class (as classify names it) is shown in legends. */
const CLASS_LABELS = {
  inference: "COGS",
  training: "R&D",
  sga: "SG&A",
  shared: "Shared pools",
  unclassified: "Unclassified",
};

/**
 * The line columns of cost-stack, each with the class its name carries:
 * "inference__datacenter_ops_per_mtok" -> class "inference", label "COGS: Datacenter ops".
 */
function costLines(table) {
  const suffix = "_per_mtok";
  return table.columns
    .filter((column) => column.includes("__") && column.endsWith(suffix))
    .map((column) => {
    const [cls, line] = column.slice(0, column.length - suffix.length).split("__", 2);
    const name = CLASS_LABELS[cls] ?? cls;
    const what = labelOf(line);
    return { column, cls, label: what.toLowerCase() === name.toLowerCase() ? name : `${name}: ${what}` };
  });
}

/** The last component of an account name (or the value itself). */
const leafName = (v) => String(v).split(":").pop();

/** Record the spec a panel drew, for tests and for debugging in the console. */
function record(title, spec) {
  const w = window;
  w.unitEconomics = w.unitEconomics ?? {};
  w.unitEconomics[title] = spec;
  // No animation: the page is read, not watched, and screenshots must be stable.
  return { animation: false, ...spec };
}

const fmtMoney = (ccy, digits = 2) => new Intl.NumberFormat("en-US", { style: "currency", currency: ccy, maximumFractionDigits: digits }).format;
const fmtNumber = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }).format;
const fmtCompact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format;
const anyFmt = (f) => (v) => (typeof v === "number" ? f(v) : "—");

// Cool colours for cost of serving (COGS), warm ones for everything else.
const COOL = ["#1f4e8c", "#3b7dd8", "#7fb2f0", "#1b8a7a", "#52c1a9", "#9fdcc9", "#5b5fc7", "#9a9ee8", "#c5c8f2"];
const WARM = ["#d9622b", "#f2a65a", "#b8475f", "#8c6d62", "#e8c547", "#c27c0e", "#e07b91", "#7d5a3c", "#f4cf8c", "#a3a3a3"];

function stackedBars(title, axis, series, unit, options = {}) {
  return record(title, {
    tooltip: { trigger: "axis", valueFormatter: anyFmt(unit) },
    legend: { bottom: 0, type: "plain", itemGap: 12 },
    // Room for the legend: one more row of entries every six or so series.
    grid: { left: 70, right: 20, top: 20, bottom: series.size > 12 ? 110 : series.size > 6 ? 80 : 60 },
    xAxis: { type: "category", data: axis },
    yAxis: { type: "value", axisLabel: { formatter: options.axisUnit ?? unit } },
    series: [...series.entries()].map(([name, data], i) => ({
      type: "bar",
      name,
      stack: "total",
      emphasis: { focus: "series" },
      color: options.colors?.(name, i),
      data,
    })),
  });
}

// ---------------------------------------------------------------------------
// Per-token figures: the books' own endpoint (dashboard/figures.py).
// ---------------------------------------------------------------------------

/**
 * A row of lab-report's tables as the endpoint sends it (Decimals as exact text).
 * @typedef {{label: string, million_tokens: string, price: string | null,
 *   cost_of_serving: string | null, gross_margin: string | null, full_cost: string | null,
 *   net_margin: string | null}} Figures
 * @typedef {{month: string, pools: string[], note: string, where: string}} PolicyChange
 * The answer of `v2_unit_economics`:
 * @typedef {{
 *   filters: {time: string, account: string, filter: string},
 *   status: "ok" | "no-data" | "error",
 *   message?: string,
 *   showing: {start: string, stop: string, label: string} | null,
 *   notices: string[],
 *   panel_notices: string[],
 *   data: {
 *     months: string[],
 *     summary: Row[],
 *     headline: {month: Figures | null, previous_month: Figures | null,
 *                period: Figures, previous_period: Figures | null},
 *     segments: {tier: Row[], model: Row[]},
 *     cost_stack: Table,
 *     policy_changes: PolicyChange[],
 *   } | null,
 * }} UnitEconomics
 */

const answers = new Map();

/** An endpoint of the books' extension for the current filters, fetched once per URL; the answer is
 *  also left on ``window[global]`` for the browser tests. */
function answerOf(ledger, endpoint, global) {
  const url = ledger.urlFor(endpoint);
  let pending = answers.get(url);
  if (pending === undefined) {
    pending = fetch(url).then(async (resp) => {
      const body = await resp.json();
      if (!resp.ok)
        throw new Error(`${endpoint}: ${body.error ?? resp.statusText}`);
      if (ledger.urlFor(endpoint) === url)
        window[global] = body; // not the late answer of a filter Fava has left
      return body;
    });
    answers.set(url, pending);
  }
  return pending;
}

/** The page's per-token figures for the current filters (one request per filter). */
function unitEconomics(ledger) {
  useCurrency(ledger.ccy);
  return answerOf(ledger, "v2_unit_economics", "unitEconomicsData");
}

const dec = (v) => (v === null || v === undefined ? null : Number(v));
const MINUS = "\u2212";
/** lab-report's segment row for the costs of months without tokens (queries/economics.py). */
const UNATTRIBUTED = "(unattributed)";

/** Dollars with cents and a real minus sign: "−$2,349.90". */
const dollars = (v) => `${v < 0 ? MINUS : ""}${MONEY}${Math.abs(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The months of the window in which no token was served: no per-token figure exists for them. */
function monthsWithoutTokens(ue) {
  return new Set((ue.data?.summary ?? []).filter((r) => r.month !== "Total" && !Number(r.million_tokens)).map((r) => String(r.month)));
}

/** A month axis that says which months have no per-token figure, instead of a silent gap. */
function monthAxis(ue, axis, boundaryGap = true) {
  const empty = monthsWithoutTokens(ue);
  return {
    type: "category",
    data: axis,
    boundaryGap,
    axisLabel: { formatter: (m) => (empty.has(m) ? `${m}\n(no tokens)` : m) },
  };
}

/** The "no data" answer of a per-token panel when no month of the window served a token. */
function noTokens(ue, title) {
  const months = ue.data?.months ?? [];
  const empty = monthsWithoutTokens(ue);
  if (months.length && months.every((m) => empty.has(m))) {
    return noData(title, `no tokens served in ${ue.showing?.label ?? months.join(", ")}: no per-token figure exists`);
  }
  return null;
}

/** The books' operating currency (Fava's ``ledger.ccy``, the first ``operating_currency``): every
 * figure is lab-report's, valued in it, so a EUR lab's figures must not read as dollars. */
let CCY = "USD";
let MONEY = "$";
const MONEY_SIGNS = { USD: "$", EUR: "\u20ac", GBP: "\u00a3", JPY: "\u00a5" };
function useCurrency(ccy) {
  CCY = ccy || "USD";
  MONEY = MONEY_SIGNS[CCY] ?? `${CCY} `;
}
/** The money axes' name: "$ per million tokens", "€ per million tokens", "CHF per million tokens". */
const perMtokName = () => `${MONEY.trim()} per million tokens`;

/** "$ per million tokens" with enough decimals that small figures are not $0.00. */
function perMtok(v, signed = false) {
  const abs = Math.abs(v);
  if (abs === 0)
    return `${MONEY}0`;
  const digits = abs >= 1 ? 2 : abs >= 0.1 ? 3 : abs >= 0.001 ? 4 : 6;
  const text = `${MONEY}${abs.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
  return v < 0 ? `${MINUS}${text}` : signed && v > 0 ? `+${text}` : text;
}
const perMtokAxis = (v) => perMtok(v);
const perMtokTip = (v) => (typeof v === "number" ? `${perMtok(v)} per million tokens` : "—");
const tokenScale = (mtok) => Math.abs(mtok) >= 1e6
  ? { perMtok: 1e6, word: "trillion" }
  : Math.abs(mtok) >= 1e3
    ? { perMtok: 1e3, word: "billion" }
    : { perMtok: 1, word: "million" };
/** A number of tokens in the scale's unit, with its word: "35.74 trillion tokens". */
const fmtScaled = (v, scale) => `${v.toLocaleString("en-US", { maximumFractionDigits: Math.abs(v) >= 10 ? 1 : 2 })} ${scale.word} tokens`;
/** Million tokens as tokens in words, in the scale of their own size. */
const fmtTokens = (mtok) => {
  const scale = tokenScale(mtok);
  return fmtScaled(mtok / scale.perMtok, scale);
};

/** The notice an affected panel shows under its title (empty: the filter applies as is). */
function noticeOf(ue) {
  if (!ue.showing)
    return "";
  const base = `Whole books, ${ue.showing.label}`;
  const extra = ue.panel_notices.length ? ` (${ue.panel_notices.join("; ")}; see the note above)` : "";
  return base + extra;
}

/** An ECharts option that says there is nothing to draw, and why. */
function noData(title, message) {
  return record(title, {
    noData: message,
    title: {
      text: "no data for this filter",
      subtext: message,
      left: "center",
      top: "middle",
      textStyle: { fontSize: 16, color: "#5f1410" },
      subtextStyle: { width: 900, overflow: "break", fontSize: 12 },
    },
    series: [],
  });
}

/** The title block of a per-token chart: its notice, so the panel says what it shows. */
function subtitle(notice, width = 560) {
  return notice
    ? { subtext: notice, left: 10, top: 0, subtextStyle: { width, overflow: "break", fontSize: 12, lineHeight: 16, color: "#444" } }
    : undefined;
}

/** Vertical markers where an allocation rule replaces an earlier one for the same pool. */
function policyMarks(ue, axis) {
  const changes = (ue.data?.policy_changes ?? []).filter((c) => axis.includes(c.month));
  if (!changes.length)
    return undefined;
  return {
    silent: false,
    symbol: "none",
    lineStyle: { color: "#7a3fb0", type: "dashed", width: 1.5 },
    label: { show: true, position: "insideEndTop", color: "#7a3fb0", fontSize: 11 },
    tooltip: { show: true },
    data: changes.map((c) => ({
      xAxis: c.month,
      name: `Allocation rule change: ${c.pools.map(leafName).join(", ")}`,
      label: { formatter: `rule change: ${c.pools.map(leafName).join(", ")}` },
    })),
  };
}

/** Monthly series of a summary column over `axis`. */
function summarySeries(ue, column, axis) {
  const byMonth = new Map((ue.data?.summary ?? []).map((r) => [r.month, dec(r[column])]));
  return axis.map((m) => byMonth.get(m) ?? null);
}

const GOOD = "#1b7a2e";
const BAD = "#b3261e";

/** One headline figure: value, sign in words, and the change against the previous period. */
function figureHtml(key, label, value, previous, previousLabel, kind) {
  if (value === null) {
    return `<div class="ue-fig" data-figure="${key}" data-value=""><div class="ue-l">${label}</div><div class="ue-v">—</div><div class="ue-c">no tokens served</div></div>`;
  }
  const text = kind === "tokens" ? fmtTokens(value) : perMtok(value, kind === "margin");
  let valueStyle = "";
  let word = "";
  if (kind === "margin") {
    valueStyle = `color:${value < 0 ? BAD : GOOD}`;
    word = value < 0 ? " a loss" : value > 0 ? " a profit" : " break-even";
  }
  let change = "";
  if (previous !== null && previousLabel !== null) {
    const delta = value - previous;
    const up = delta > 0;
    const better = kind === "cost" ? !up : up;
    const arrow = delta === 0 ? "=" : up ? "▲ up" : "▼ down";
    const amount = kind === "tokens" ? fmtTokens(Math.abs(delta)) : perMtok(Math.abs(delta));
    const colour = delta === 0 || kind === "tokens" ? "#444" : better ? GOOD : BAD;
    const was = kind === "tokens" ? fmtTokens(previous) : perMtok(previous, kind === "margin");
    change = `<span style="color:${colour}">${arrow} ${delta === 0 ? "unchanged" : amount}</span> vs ${escapeHtml(previousLabel)} (${was})`;
  }
  else if (previousLabel !== null) {
    // The period before exists but served no token: it has no per-token figure to compare with.
    change = `no tokens served in ${escapeHtml(previousLabel)}: nothing to compare`;
  }
  else {
    change = "no earlier period in the books";
  }
  const unit = kind === "tokens" ? "" : `<span class="ue-u"> per million tokens</span>`;
  return `<div class="ue-fig" data-figure="${key}" data-value="${value}">
<div class="ue-l">${label}</div>
<div class="ue-v" style="${valueStyle}">${text}${unit}<b>${word}</b></div>
<div class="ue-c">${change}</div></div>`;
}

function headlineRow(which, title, now, before) {
  const f = (k) => dec(now[k]);
  const p = (k) => (before ? dec(before[k]) : null);
  const pl = before?.label ?? null;
  return `<div class="ue-row" data-period="${which}" data-label="${escapeHtml(now.label)}">
<div class="ue-h">${title} <b>${escapeHtml(now.label)}</b></div>
${figureHtml(`${which}.price`, "Price", f("price"), p("price"), pl, "price")}
${figureHtml(`${which}.cost_of_serving`, "Cost of serving (COGS)", f("cost_of_serving"), p("cost_of_serving"), pl, "cost")}
${figureHtml(`${which}.gross_margin`, "Gross margin (accountant's view)", f("gross_margin"), p("gross_margin"), pl, "margin")}
${figureHtml(`${which}.full_cost`, "Full cost (every cost of the firm)", f("full_cost"), p("full_cost"), pl, "cost")}
${figureHtml(`${which}.net_margin`, "Net margin (skeptic's view)", f("net_margin"), p("net_margin"), pl, "margin")}
${figureHtml(`${which}.million_tokens`, "Tokens served", f("million_tokens"), p("million_tokens"), pl, "tokens")}
</div>`;
}

const HEADLINE_STYLE = `<style>
.ue-row{display:flex;flex-wrap:wrap;gap:0.4em 1.2em;align-items:flex-start;margin:0.2em 0 0.6em}
.ue-h{flex:0 0 100%;font-size:1.05em}
.ue-fig{min-width:12em}
.ue-l{font-size:0.85em;color:#444}
.ue-v{font-size:1.45em;font-weight:600}
.ue-v b{font-size:0.6em;margin-left:0.3em}
.ue-u{font-size:0.5em;font-weight:400;color:#444}
.ue-c{font-size:0.8em;color:#444}
.ue-note{background:#fff6d6;border:1px solid #e0c060;padding:0.4em 0.8em;margin:0.3em 0}
.ue-answer{font-size:1.1em;margin:0.2em 0 0.5em}
</style>`;

/** The headline: the answer in one sentence, then the latest month and the period. */
function headlineHtml(ue) {
  const notes = ue.notices.map((n) => `<div class="ue-note" role="status">${escapeHtml(n)}</div>`).join("");
  if (ue.status !== "ok" || !ue.data) {
    return `${HEADLINE_STYLE}<div class="ue-note" role="status" data-no-data="1"><b>${escapeHtml(ue.message ?? "no data for this filter")}</b></div>${notes}`;
  }
  const h = ue.data.headline;
  let answer = "";
  if (h.month && h.month.net_margin !== null && h.month.gross_margin !== null) {
    const net = Number(h.month.net_margin);
    const gross = Number(h.month.gross_margin);
    answer = `<div class="ue-answer">In <b>${escapeHtml(h.month.label)}</b> a million tokens sold for <b>${perMtok(Number(h.month.price))}</b>:
serving it cost <b>${perMtok(Number(h.month.cost_of_serving))}</b> (gross margin <b style="color:${gross < 0 ? BAD : GOOD}">${perMtok(gross, true)}, ${gross < 0 ? "a loss" : "a profit"}</b>),
and with every cost of the firm <b>${perMtok(Number(h.month.full_cost))}</b> (net margin <b style="color:${net < 0 ? BAD : GOOD}">${perMtok(net, true)}, ${net < 0 ? "a loss" : "a profit"}</b>).</div>`;
  }
  const changes = ue.data.policy_changes
    .map((c) => `<li><b>${escapeHtml(c.month)}</b>: allocation rule for ${escapeHtml(c.pools.join(", "))} replaced (${escapeHtml(c.note || c.where)})</li>`)
    .join("");
  return `${HEADLINE_STYLE}${notes}${answer}
${h.month ? headlineRow("month", "Latest month with tokens served:", h.month, h.previous_month) : ""}
${headlineRow("period", "Whole period:", h.period, h.previous_period)}
${changes ? `<div class="ue-c">Allocation policy changes in the period (purple dashed line on the charts):<ul style="margin:0.2em 0">${changes}</ul></div>` : ""}
<div class="ue-c">Every figure is lab-report's (<code>lab-report --from ${ue.showing.start} --to ${ue.showing.stop}</code>, its Total row for the period), on the whole books; ${CCY === "USD" ? "dollars" : escapeHtml(CCY)} per million tokens.</div>`;
}

const TITLES = {
  headline: "Are we selling tokens at a loss? (per million tokens, in the books' currency)",
  margins: "Gross and net margin per million tokens",
  costStack: "Cost per million tokens, by cost line",
  tierMargins: "Margin per million tokens by tier (period total)",
  modelMargins: "Margin per million tokens by model (period total)",
  tiers: "Tokens served by tier",
  models: "Tokens served by model",
  gpuh: "GPU-hours by workload (idle included; follows Fava's filters)",
  pools: "Where the shared pools went: pool → activity → cost class (follows Fava's filters; step-down pools in grey)",
};

/** Half-width panel: price, cost and margins per million tokens per segment, over the period. */
function segmentMarginsPanel(title, by) {
  return {
    title,
    width: "50%",
    height: "420px",
    kind: "echarts",
    spec: async ({ ledger }) => {
      const ue = await unitEconomics(ledger);
      if (ue.status !== "ok" || !ue.data)
        return noData(title, ue.message ?? "");
      const empty = noTokens(ue, title);
      if (empty)
        return empty;
      const all = ue.data.segments[by].filter((r) => r.month === "Total" && r[by] !== "(all)");
      // The costs of months without tokens have no per-token figure: said in words, not an empty bar.
      const totals = all.filter((r) => r[by] !== UNATTRIBUTED);
      const unattributed = all.find((r) => r[by] === UNATTRIBUTED && Number(r.net_margin));
      const names = totals.map((r) => String(r[by]));
      // Every bar is a figure of the endpoint (lab-report's per_mtok): the page divides nothing.
      const series = [
        { name: "Price / Mtok", color: "#5b5fc7", data: totals.map((r) => dec(r.price_per_mtok)) },
        { name: "Cost of serving / Mtok", color: "#8c6d62", data: totals.map((r) => dec(r.cogs_per_mtok)) },
        { name: "Gross margin / Mtok", color: "#3daf46", data: totals.map((r) => dec(r.gross_margin_per_mtok)) },
        { name: "Net margin / Mtok", color: "#af3d3d", data: totals.map((r) => dec(r.net_margin_per_mtok)) },
      ];
      const notice = [
        noticeOf(ue),
        unattributed
          ? `Not in any ${by}: net ${dollars(Number(unattributed.net_margin))}, the costs of months with no tokens served (lab-report's ${UNATTRIBUTED} row)`
          : "",
      ].filter(Boolean).join(". ");
      return record(title, {
        title: subtitle(notice, 520), // a half-width panel
        tooltip: { trigger: "axis", valueFormatter: perMtokTip },
        legend: { bottom: 0, itemGap: 8 },
        // Room above the plot for the notice: about three lines with the unattributed note.
        grid: { left: 80, right: 20, top: notice ? (unattributed ? 115 : 75) : 30, bottom: 60 },
        xAxis: {
          type: "category",
          data: names,
          // A segment without tokens in the period has no per-token bar: say so under its name.
          axisLabel: {
            interval: 0,
            fontWeight: "bold",
            formatter: (name) => (totals.some((r) => String(r[by]) === name && !Number(r.million_tokens)) ? `${name}\n(no tokens)` : name),
          },
        },
        yAxis: { type: "value", name: perMtokName(), nameGap: 8, axisLabel: { formatter: perMtokAxis } },
        series: series.map((s, i) => ({
          type: "bar",
          name: s.name,
          color: s.color,
          // Margins carry their value as a label, below a bar that goes below zero.
          data: s.data.map((v) => ({ value: v, label: { position: v !== null && v < 0 ? "bottom" : "top" } })),
          label: { show: i >= 2, fontSize: 10, formatter: (p) => perMtok(p.value) },
          ...(i === 0 ? { markLine: { silent: true, symbol: "none", label: { show: false }, lineStyle: { color: "#555", width: 1 }, data: [{ yAxis: 0 }] } } : {}),
        })),
      });
    },
  };
}

/** Half-width panel: tokens per month (in trillions, billions or millions), stacked by tier or model. */
function tokensPanel(title, by) {
  return {
    title,
    width: "50%",
    height: "360px",
    kind: "echarts",
    spec: async ({ ledger }) => {
      const ue = await unitEconomics(ledger);
      if (ue.status !== "ok" || !ue.data)
        return noData(title, ue.message ?? "");
      const axis = ue.data.months;
      // "(unattributed)" holds the costs of months without tokens: it never has tokens to stack.
      const rows = ue.data.segments[by].filter((r) => r.month !== "Total" && r[by] !== UNATTRIBUTED);
      if (!rows.some((r) => Number(r.million_tokens) !== 0)) {
        return noData(title, `no tokens served in ${ue.showing?.label ?? "these months"}`);
      }
      // One unit for the whole axis, from the largest month: trillions, billions or millions.
      const scale = tokenScale(Math.max(...rows.map((r) => Math.abs(Number(r.million_tokens)))));
      const table = { columns: ["month", by, "tokens"], rows: rows.map((r) => ({ month: r.month, [by]: r[by], tokens: Number(r.million_tokens) / scale.perMtok })) };
      const spec = stackedBars(title, axis, pivot(ledger, table, by, "tokens", axis), (v) => fmtScaled(v, scale), {
        axisUnit: (v) => v.toLocaleString("en-US", { maximumFractionDigits: 1 }),
      });
      spec.yAxis.name = `${scale.word}s of tokens`;
      spec.yAxis.nameGap = 8;
      const notice = noticeOf(ue);
      spec.title = subtitle(notice);
      spec.grid.top = notice ? 75 : 30;
      spec.series[0].markLine = policyMarks(ue, axis);
      return record(title, spec);
    },
  };
}

/** Rows of a saved query under Fava's filters, or the reason there are none. */
async function filteredRows(ledger, query) {
  try {
    const t = await runSaved(ledger, query);
    return t.rows.length ? t : "no data for this filter: the saved query returns no rows for it";
  }
  catch (e) {
    return `no data for this filter: ${e instanceof Error ? e.message : String(e)}`;
  }
}

const FOLLOWS = "Follows Fava's filters (time to the day, account, tag, payee)";

// ---------------------------------------------------------------------------
// The "Model P&L" page: each model as a company (docs/dashboard.md, docs/views.md).
// Its figures come from the books' endpoint `v2_model_pnl` (dashboard/model_pnl.py):
// lab-report's code (queries/lifetime.py, by_segment --by model) on the whole books.
// ---------------------------------------------------------------------------

/**
 * The answer of `v2_model_pnl`:
 * @typedef {{
 *   filters: {time: string, account: string, filter: string},
 *   status: "ok" | "no-data" | "error",
 *   message?: string,
 *   showing: {start: string, stop: string, label: string} | null,
 *   notices: string[],
 *   panel_notices: string[],
 *   data: {per_mtok: Row[]} | null,
 *   lifetime: {payback_curve: Row[], life_table: Row[]} | {error: string},
 * }} ModelPnl
 */

/** The Model P&L figures for the current filters (one request per filter). */
function modelPnl(ledger) {
  useCurrency(ledger.ccy);
  return answerOf(ledger, "v2_model_pnl", "modelPnlData");
}

/** Money in millions of the books' currency: "$260.7M", "−$139.6M", "€12.0M", "CHF 3.5M". */
function dollarsM(v, digits = 1) {
  const text = `${MONEY}${(Math.abs(v) / 1e6).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })}M`;
  return v < 0 ? `${MINUS}${text}` : text;
}
const dollarsMTip = (v) => (typeof v === "number" ? dollarsM(v) : "—");

const LIFETIME_NOTE = "Each model's whole life in the books (follows no filter: a payback month needs every month)";
const PNL_COLORS = ["#1f4e8c", "#d9622b", "#1b8a7a", "#7a3fb0", "#b8475f", "#8c6d62"];

const PNL_TITLES = {
  intro: "Each model as a company",
  curve: "Payback: cumulative gross margin against training cost, per model (millions)",
  perMtok: "Gross, after-training and net margin per million tokens, by model (period)",
  table: "Each model's life: training cost, revenue, margin, payback (lab-report --lifetime)",
};

function lifetimeOf(pnl) {
  return "error" in pnl.lifetime ? `no data: ${pnl.lifetime.error}` : pnl.lifetime;
}

function pnlIntroHtml(pnl) {
  const notes = pnl.notices.map((n) => `<div class="ue-note" role="status">${escapeHtml(n)}</div>`).join("");
  const status = pnl.status !== "ok" ? `<div class="ue-note" role="status" data-no-data="1"><b>${escapeHtml(pnl.message ?? "no data for this filter")}</b> (per-million-token panel)</div>` : "";
  return `${HEADLINE_STYLE}${status}${notes}<div class="ue-c">"If you consider each model to be a company": per model, the gross margin it earns
against the training cost the books attribute to it. A management view, not GAAP (training is R&amp;D expense in the books; docs/views.md).
The payback curve and the life table cover each model's whole life in the books; the margins per million tokens follow the time filter's
whole months. Money in millions of ${escapeHtml(CCY)}; margins in ${escapeHtml(perMtokName())}.</div>`;
}

function paybackCurveSpec(pnl) {
  const title = PNL_TITLES.curve;
  const life = lifetimeOf(pnl);
  if (typeof life === "string")
    return noData(title, life);
  const rows = life.payback_curve;
  if (!rows.length)
    return noData(title, "the books attribute no training cost or revenue to any model");
  const axis = [...new Set(rows.map((r) => String(r.month)))].sort();
  const names = [...new Set(rows.map((r) => String(r.model)))].sort();
  const payback = new Map(life.life_table.map((r) => [String(r.model), r.payback_month]));
  const series = [];
  names.forEach((name, i) => {
    const color = PNL_COLORS[i % PNL_COLORS.length];
    const mine = new Map(rows.filter((r) => r.model === name).map((r) => [String(r.month), r]));
    const gross = axis.map((m) => (mine.has(m) ? dec(mine.get(m).cumulative_gross_margin) : null));
    const training = axis.map((m) => (mine.has(m) ? dec(mine.get(m).cumulative_training_cost) : null));
    const month = payback.get(name);
    series.push({
      type: "line",
      name: `${name}: cumulative gross margin`,
      color,
      data: gross,
      symbolSize: 4,
      markPoint: month
        ? {
          symbol: "pin",
          symbolSize: 44,
          label: { formatter: "paid back", fontSize: 9 },
          data: [{ name: `${name} pays back its training in ${month}`, coord: [month, gross[axis.indexOf(month)]] }],
        }
        : undefined,
    });
    series.push({ type: "line", name: `${name}: training cost`, color, data: training, lineStyle: { type: "dashed" }, symbol: "none" });
  });
  return record(title, {
    title: subtitle(LIFETIME_NOTE),
    tooltip: { trigger: "axis", valueFormatter: dollarsMTip },
    legend: { bottom: 0, itemGap: 10 },
    grid: { left: 80, right: 30, top: 75, bottom: names.length > 3 ? 90 : 60 },
    xAxis: { type: "category", data: axis, boundaryGap: false },
    yAxis: { type: "value", name: `${MONEY.trim()} millions`, nameGap: 8, axisLabel: { formatter: (v) => dollarsM(v, 0) } },
    series,
  });
}

function perMtokByModelSpec(pnl) {
  const title = PNL_TITLES.perMtok;
  if (pnl.status !== "ok" || !pnl.data)
    return noData(title, pnl.message ?? "");
  const rows = pnl.data.per_mtok.filter((r) => dec(r.million_tokens));
  if (!rows.length)
    return noData(title, "no model served tokens in these months");
  const names = rows.map((r) => String(r.model));
  const bars = [
    { name: "Gross margin / Mtok", column: "gross_margin_per_mtok", color: "#3daf46" },
    { name: "After training, straight-line / Mtok", column: "after_training_per_mtok_straight_line", color: "#1b8a7a" },
    { name: "After training, units of production / Mtok", column: "after_training_per_mtok_units", color: "#7fb2f0" },
    { name: "Net margin / Mtok", column: "net_margin_per_mtok", color: "#af3d3d" },
  ];
  const notice = noticeOf(pnl);
  return record(title, {
    title: subtitle(notice),
    tooltip: { trigger: "axis", valueFormatter: perMtokTip },
    legend: { bottom: 0, itemGap: 8 },
    grid: { left: 80, right: 20, top: notice ? 75 : 30, bottom: 60 },
    xAxis: { type: "category", data: names, axisLabel: { interval: 0, fontWeight: "bold" } },
    yAxis: { type: "value", name: perMtokName(), nameGap: 8, axisLabel: { formatter: perMtokAxis } },
    series: bars.map((b, i) => ({
      type: "bar",
      name: b.name,
      color: b.color,
      data: rows.map((r) => {
        const v = dec(r[b.column]);
        return { value: v, label: { position: v !== null && v < 0 ? "bottom" : "top" } };
      }),
      label: { show: true, fontSize: 10, formatter: (p) => (typeof p.value === "number" ? perMtok(p.value) : "—") },
      ...(i === 0 ? { markLine: { silent: true, symbol: "none", label: { show: false }, lineStyle: { color: "#555", width: 1 }, data: [{ yAxis: 0 }] } } : {}),
    })),
  });
}

function lifeTableHtml(pnl) {
  const life = lifetimeOf(pnl);
  if (typeof life === "string")
    return `<div class="ue-note" role="status" data-no-data="1">${escapeHtml(life)}</div>`;
  const money = (v) => (v === null || v === undefined ? "—" : dollarsM(Number(v)));
  const cell = (v, style = "") => `<td style="text-align:right;${style}">${v}</td>`;
  const rows = life.life_table
    .map((r) => {
    const contribution = Number(r.contribution);
    return `<tr data-model="${escapeHtml(r.model)}"><td><b>${escapeHtml(r.model)}</b></td><td>${escapeHtml(r.launch ?? "—")}</td>
${cell(money(r.training_cost))}${cell(money(r.revenue))}${cell(money(r.gross_margin))}
${cell(money(r.contribution), `color:${contribution < 0 ? BAD : GOOD}`)}
${cell(escapeHtml(r.payback_month ?? "not yet"))}${cell(r.training_before_books === null ? "—" : `${money(r.training_before_books)}, pays back ${escapeHtml(r.payback_month_with_memo ?? "not yet")}`)}</tr>`;
  })
    .join("");
  return `<table class="queryresults" data-table="life-table"><thead><tr><th>model</th><th>launch</th><th>training cost</th><th>cumulative revenue</th>
<th>gross margin</th><th>contribution (gross margin − training)</th><th>payback month</th><th>training before the books (memo)</th></tr></thead>
<tbody>${rows}</tbody></table><div class="ue-c">${escapeHtml(LIFETIME_NOTE)}; the same figures as <code>lab-report --lifetime</code>, in millions of ${escapeHtml(CCY)}.</div>`;
}

export default {
  dashboards: [
    {
      name: "Unit economics",
      panels: [
        {
          // Books check: a red banner when books-check finds something, else one status line.
          title: "Books check",
          width: "100%",
          height: "auto",
          kind: "html",
          spec: async ({ ledger }) => (await booksChecked(ledger)) || "Plugins loaded in order; every pool allocated.",
        },
        {
          title: TITLES.headline,
          width: "100%",
          height: "auto",
          kind: "html",
          serverRendered: true, // shows the server's headline (prerender.py) until it draws
          spec: async ({ ledger }) => headlineHtml(await unitEconomics(ledger)),
        },
        {
          title: TITLES.margins,
          width: "100%",
          height: "400px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const ue = await unitEconomics(ledger);
            if (ue.status !== "ok" || !ue.data)
              return noData(TITLES.margins, ue.message ?? "");
            const empty = noTokens(ue, TITLES.margins);
            if (empty)
              return empty;
            const axis = ue.data.months;
            const notice = noticeOf(ue);
            const lines = [
              { name: "Gross margin / Mtok", column: "gross_margin_per_mtok", color: "#3daf46" },
              { name: "Net margin / Mtok", column: "net_margin_per_mtok", color: "#af3d3d" },
            ];
            return record(TITLES.margins, {
              title: subtitle(notice),
              tooltip: { trigger: "axis", valueFormatter: perMtokTip },
              legend: { bottom: 0 },
              grid: { left: 80, right: 30, top: notice ? 60 : 30, bottom: monthsWithoutTokens(ue).size ? 65 : 50 },
              xAxis: monthAxis(ue, axis, false),
              yAxis: { type: "value", name: perMtokName(), nameGap: 8, axisLabel: { formatter: perMtokAxis } },
              series: lines.map(({ name, column, color }, i) => ({
                type: "line",
                name,
                data: summarySeries(ue, column, axis),
                color,
                connectNulls: false,
                ...(i === 0
                  ? {
                    markLine: {
                      ...(policyMarks(ue, axis) ?? { symbol: "none", data: [] }),
                      data: [
                        { yAxis: 0, lineStyle: { color: "#555", type: "solid", width: 1.5 }, label: { show: false } },
                        ...(policyMarks(ue, axis)?.data ?? []),
                      ],
                    },
                  }
                  : {}),
              })),
            });
          },
        },
        {
          title: TITLES.costStack,
          width: "100%",
          height: "520px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const ue = await unitEconomics(ledger);
            if (ue.status !== "ok" || !ue.data)
              return noData(TITLES.costStack, ue.message ?? "");
            const empty = noTokens(ue, TITLES.costStack);
            if (empty)
              return empty;
            const t = ue.data.cost_stack;
            const axis = ue.data.months;
            // Every line column is named <class>__<line>_per_mtok by the query, with the cost
            // class that ailab_books.plugins.classify resolved: the page reads each column's
            // class from its name and decides none itself (no column position, no account
            // pattern). cogs_per_mtok and full_cost_per_mtok are the gross and net totals.
            const cogsTotal = col(t, Q.costStack, "cogs_per_mtok");
            const fullTotal = col(t, Q.costStack, "full_cost_per_mtok");
            const parts = costLines(t);
            const classOf = new Map(parts.map(({ label, cls }) => [label, cls]));
            const bars = columnsAsSeries(ledger, t, parts, axis);
            const totals = columnsAsSeries(ledger, t, [
              { column: cogsTotal, label: "Total COGS / MTOK (gross view)" },
              { column: fullTotal, label: "Full cost / MTOK (net view)" },
            ], axis);
            let cool = 0;
            let warm = 0;
            const spec = stackedBars(TITLES.costStack, axis, bars, perMtokTip, {
              colors: (name) => classOf.get(name) === COGS_CLASS ? COOL[cool++ % COOL.length] : WARM[warm++ % WARM.length],
              axisUnit: perMtokAxis,
            });
            const notice = noticeOf(ue);
            spec.title = subtitle(notice);
            spec.grid.top = notice ? 60 : 30;
            spec.yAxis.name = perMtokName();
            spec.xAxis = monthAxis(ue, axis);
            if (monthsWithoutTokens(ue).size)
              spec.grid.bottom += 15;
            const lineColors = ["#1b1b1b", "#af3d3d"];
            spec.series.push(...[...totals.entries()].map(([name, data], i) => ({
              type: "line",
              name,
              data,
              color: lineColors[i],
              lineStyle: { type: i === 0 ? "dashed" : "solid", width: 2 },
              symbol: "none",
              z: 10,
              ...(i === 0 ? { markLine: policyMarks(ue, axis) } : {}),
            })));
            return record(TITLES.costStack, spec);
          },
        },
        segmentMarginsPanel(TITLES.tierMargins, "tier"),
        segmentMarginsPanel(TITLES.modelMargins, "model"),
        tokensPanel(TITLES.tiers, "tier"),
        tokensPanel(TITLES.models, "model"),
        {
          title: TITLES.gpuh,
          width: "100%",
          height: "380px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await filteredRows(ledger, Q.gpuh);
            if (typeof t === "string")
              return noData(TITLES.gpuh, t);
            // Fava's dates run to its last directive (a price fetched today, say): months after the
            // last GPU-hours recorded would read as an idle fleet, so the axis ends with the data.
            const axis = recordedMonths(t, months(ledger));
            // One column per workload between the total and the *_share columns.
            const total = col(t, Q.gpuh, "gpu_hours");
            const skip = new Set(["year", "month", "period", total.toLowerCase()]);
            const workloads = t.columns
              .filter((c) => !skip.has(c.toLowerCase()) && !c.endsWith("_share"))
              .map((column) => ({ column, label: labelOf(column) }));
            const spec = stackedBars(TITLES.gpuh, axis, columnsAsSeries(ledger, t, workloads, axis), (v) => `${fmtNumber(v)} GPU-hours`, {
              axisUnit: fmtCompact,
              colors: (name) => (name === "Idle" ? "#a3a3a3" : undefined),
            });
            spec.title = subtitle(FOLLOWS);
            spec.grid.top = 40;
            return record(TITLES.gpuh, spec);
          },
        },
        {
          title: TITLES.pools,
          width: "100%",
          height: "620px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await filteredRows(ledger, Q.audit);
            if (typeof t === "string")
              return noData(TITLES.pools, t);
            const pool = col(t, Q.audit, "pool");
            const activity = col(t, Q.audit, "activity");
            const target = col(t, Q.audit, "target", "account");
            const amount = col(t, Q.audit, "amount");
            const currency = t.columns.find((c) => c.toLowerCase() === "currency");
            const rows = t.rows.filter((r) => String(r[pool]).startsWith("Expenses:Shared:") && (!currency || r[currency] === ledger.ccy));
            if (!rows.length)
              return noData(TITLES.pools, "no allocation in the books for this filter");
            // Step-down: a target that is itself a pool continues as that pool's node.
            const pools = new Set(rows.map((r) => String(r[pool])));
            const poolNode = (account) => `pool ${account.replace(/^Expenses:Shared:/, "")}`;
            // The cost class is the one ailab_books.plugins.classify resolved and wrote on the
            // target's `open` directive as cost-class metadata; the page has no rule of its own
            // (an account without it, which classify reports as an error, is "unclassified").
            const classNode = (account) => `class ${String(ledger.accounts[account]?.meta?.["cost-class"] ?? "unclassified")}`;
            const links = new Map();
            const add = (source, dest, value) => {
              const key = `${source}\u0000${dest}`;
              links.set(key, (links.get(key) ?? 0) + value);
            };
            for (const row of rows) {
              const v = num(row[amount], ledger.ccy);
              if (!v)
                continue;
              const dest = String(row[target]);
              const act = String(row[activity]);
              add(poolNode(String(row[pool])), act, v);
              add(act, pools.has(dest) ? poolNode(dest) : classNode(dest), v);
            }
            const names = new Set();
            const data = [...links.entries()]
              .filter(([, v]) => v > 0)
              .map(([key, value]) => {
              const [source, dest] = key.split("\u0000");
              names.add(source);
              names.add(dest);
              return { source, target: dest, value: Math.round(value * 100) / 100 };
            });
            const nodeColor = (name) => name.startsWith("pool ")
              ? "#7a7a7a"
              : name === `class ${COGS_CLASS}`
                ? "#3b7dd8"
                : name.startsWith("class ")
                  ? "#d9622b"
                  : "#52c1a9";
            return record(TITLES.pools, {
              title: subtitle(FOLLOWS),
              tooltip: { trigger: "item", valueFormatter: anyFmt(fmtMoney(ledger.ccy, 0)) },
              series: [
                {
                  type: "sankey",
                  left: 10,
                  right: 130,
                  top: 30,
                  bottom: 10,
                  nodeGap: 8,
                  layoutIterations: 64,
                  emphasis: { focus: "adjacency" },
                  lineStyle: { color: "source", curveness: 0.5, opacity: 0.35 },
                  label: { fontSize: 11 },
                  data: [...names].map((name) => ({ name, itemStyle: { color: nodeColor(name) } })),
                  links: data,
                },
              ],
            });
          },
        },
      ],
    },
    {
      name: "Model P&L",
      panels: [
        {
          title: PNL_TITLES.intro,
          width: "100%",
          height: "auto",
          kind: "html",
          spec: async ({ ledger }) => pnlIntroHtml(await modelPnl(ledger)),
        },
        {
          title: PNL_TITLES.curve,
          width: "100%",
          height: "440px",
          kind: "echarts",
          spec: async ({ ledger }) => paybackCurveSpec(await modelPnl(ledger)),
        },
        {
          title: PNL_TITLES.perMtok,
          width: "100%",
          height: "420px",
          kind: "echarts",
          spec: async ({ ledger }) => perMtokByModelSpec(await modelPnl(ledger)),
        },
        {
          title: PNL_TITLES.table,
          width: "100%",
          height: "auto",
          kind: "html",
          spec: async ({ ledger }) => lifeTableHtml(await modelPnl(ledger)),
        },
      ],
    },
  ],
};

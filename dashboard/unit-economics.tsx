// Unit economics dashboard for fava-dashboards (https://pypi.org/project/fava-dashboards/).
//
// Every number on this page comes from a saved query of the ledger (a beancount
// `query` directive in queries/*.beancount), run by Fava's own query API
// (`.run NAME`) on the entries that Fava's filters (time, account, tag/filter)
// select. Nothing here recomputes a figure: the code only picks columns, pivots
// rows into series and sums rows for the Sankey. See docs/dashboard.md.
import { defineConfig, EChartsSpec, Ledger } from "fava-dashboards";

/* eslint-disable @typescript-eslint/no-explicit-any */

// ---------------------------------------------------------------------------
// The saved queries this page reads, and the columns it reads from them.
// This table is the page's whole contract with queries/; tests/test_fava.py
// parses it and checks every name against the ledger's `query` directives.
// ---------------------------------------------------------------------------
const Q = {
  gross: "gross-margin-per-mtok", // month, gross margin per MTOK
  net: "net-margin-per-mtok", // month, net margin per MTOK
  costStack: "cost-stack", // month, one <class>__<line>_per_mtok column per cost line (wide)
  byTier: "margin-by-tier", // month, tier, MTOK
  byModel: "margin-by-model", // month, model, MTOK
  gpuh: "gpu-hours-by-workload", // month, one column per workload (wide)
  audit: "allocation-audit", // pool, month, activity, target, amount, currency
};

// --- books check (see queries/checks.beancount and docs/mistakes.md) --------
// The saved query `books-check` lists what the plugins would have left behind
// had they run in order; any row means the books were loaded without
// ailab_books.plugins.classify / .allocate, or with them in the wrong order.
// It runs on the whole ledger, without the page's filters: a tag or account
// filter would make pools look unallocated.
const CHECK = "books-check";

type Row = Record<string, any>;
type Table = { columns: string[]; rows: Row[] };

const cache = new Map<string, Promise<Table>>();

/** Run a saved query through Fava's /api/query with the page's current filters. */
function runSaved(ledger: Ledger, name: string): Promise<Table> {
  const url = ledger.urlFor(`../../api/query?query_string=${encodeURIComponent(`.run ${name}`)}`);
  let pending = cache.get(url);
  if (pending === undefined) {
    // After the books check: Fava's query shell is shared by concurrent requests, so an
    // unfiltered query running beside filtered ones can get their entries.
    pending = booksChecked(ledger).then(() => fetch(url)).then(async (resp) => {
      const body = await resp.json();
      if (!resp.ok || !body.data) {
        throw new Error(`saved query "${name}": ${body.error ?? resp.statusText}`);
      }
      if (body.data.t !== "table") {
        throw new Error(`saved query "${name}" returned no table: ${body.data.contents ?? ""}`);
      }
      const columns: string[] = body.data.types.map((t: { name: string }) => t.name);
      const rows = body.data.rows.map((r: any[]) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
      return { columns, rows };
    });
    cache.set(url, pending);
  }
  return pending;
}

const escapeHtml = (v: any) =>
  String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const checks = new WeakMap<Ledger, Promise<string>>();

/** The books check, run once per loaded ledger and before any other query (see runSaved); never rejects. */
function booksChecked(ledger: Ledger): Promise<string> {
  let check = checks.get(ledger);
  if (check === undefined) {
    check = booksCheck(ledger).catch((e) => `<div role="alert">books check failed: ${escapeHtml(e)}</div>`);
    checks.set(ledger, check);
  }
  return check;
}

/** The books-check banner: empty when the query finds nothing, else what is wrong and the fix. */
async function booksCheck(ledger: Ledger): Promise<string> {
  const url = new URL(ledger.urlFor(`../../api/query?query_string=${encodeURIComponent(`.run ${CHECK}`)}`), location.href);
  for (const filter of ["time", "account", "filter"]) url.searchParams.delete(filter);
  const resp = await fetch(url.toString());
  const body = await resp.json();
  if (!resp.ok || body.data?.t !== "table") throw new Error(`saved query "${CHECK}": ${body.error ?? resp.statusText}`);
  const columns: string[] = body.data.types.map((t: { name: string }) => t.name);
  const rows: Row[] = body.data.rows.map((r: any[]) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
  const where = (r: Row) => `${r.account} in ${r.year}-${pad(r.month)}`;
  const unclassified = rows.filter((r) => !r.cost_class);
  const untagged = rows.filter((r) => r.cost_class && num(r.untagged)! > 0);
  const unallocated = rows.filter((r) => r.cost_class === "shared" && !num(r.untagged) && num(r.change) !== 0);
  const line = (n: number, what: string, first: Row, fix: string) =>
    `<li><b>${n} ${what}</b> (first: ${escapeHtml(where(first))}). ${fix}</li>`;
  const items = [
    unclassified.length &&
      line(unclassified.length, "account-month(s) of expenses without a cost class", unclassified[0],
        'The books were loaded without <code>plugin "ailab_books.plugins.classify"</code>: the main file needs <code>plugin "ailab_books.plugins.allocate"</code> then <code>plugin "ailab_books.plugins.classify"</code>. Or the account has no class (see Errors).'),
    untagged.length &&
      line(untagged.length, "account-month(s) with postings made after classify ran", untagged[0],
        'The plugins run in the wrong order: put <code>plugin "ailab_books.plugins.allocate"</code> above <code>plugin "ailab_books.plugins.classify"</code> in the main file.'),
    unallocated.length &&
      line(unallocated.length, "pool-month(s) ending with money in a shared pool", unallocated[0],
        'The books were loaded without <code>plugin "ailab_books.plugins.allocate"</code> (add it above the classify line), or an allocation failed (see Errors).'),
  ].filter(Boolean);
  if (!items.length) return "";
  return `<div role="alert" style="border:2px solid #b3261e;background:#fdecea;color:#5f1410;padding:0.6em 1em">
<b>Do not use these figures: the books were not loaded as the reports need.</b><ul style="margin:0.3em 0 0">${items.join("")}</ul></div>`;
}

/** The first of `names` that the table has, case-insensitively. */
function col(table: Table, query: string, ...names: string[]): string {
  for (const name of names) {
    const found = table.columns.find((c) => c.toLowerCase() === name.toLowerCase());
    if (found) return found;
  }
  throw new Error(`saved query "${query}" has none of the columns ${names.join(", ")} (has ${table.columns.join(", ")})`);
}

/** A query cell as a number: Decimal, int, Amount or single-currency Inventory; null stays null. */
function num(value: any, ccy?: string): number | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value;
  if (typeof value === "string") return Number(value);
  if (typeof value === "object" && "number" in value) return Number(value.number);
  if (typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) return 0;
    if (ccy && ccy in value) return Number(value[ccy]);
    return Number(value[keys[0]]);
  }
  return null;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "YYYY-MM" of a row: from a period/month string, year+month ints, or a date. */
function monthOf(table: Table, row: Row): string {
  const lower = Object.fromEntries(table.columns.map((c) => [c.toLowerCase(), c]));
  for (const key of ["period", "month", "ym", "date"]) {
    const v = lower[key] ? row[lower[key]] : undefined;
    if (typeof v === "string" && /^\d{4}-\d{2}/.test(v)) return v.slice(0, 7);
  }
  if (lower["year"] && lower["month"] && typeof row[lower["month"]] === "number") {
    return `${row[lower["year"]]}-${pad(row[lower["month"]])}`;
  }
  throw new Error(`cannot tell the month of a row with columns ${table.columns.join(", ")}`);
}

/** Months shown: those of the filter (or the ledger), clamped to the data. */
function months(ledger: Ledger): string[] {
  const out: string[] = [];
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
function pivot(
  ledger: Ledger,
  table: Table,
  keyCol: string | ((r: Row) => string),
  valueCol: string,
  axis: string[],
): Map<string, (number | null)[]> {
  const series = new Map<string, (number | null)[]>();
  const keyOf = typeof keyCol === "string" ? (r: Row) => String(r[keyCol]) : keyCol;
  for (const row of table.rows) {
    const key = keyOf(row);
    const i = axis.indexOf(monthOf(table, row));
    if (i < 0) continue;
    if (!series.has(key)) series.set(key, axis.map(() => null));
    const v = num(row[valueCol], ledger.ccy);
    if (v === null) continue;
    const arr = series.get(key)!;
    arr[i] = (arr[i] ?? 0) + v;
  }
  return new Map([...series.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** One series per column of a wide table (one row per month) over `axis`. */
function columnsAsSeries(
  ledger: Ledger,
  table: Table,
  columns: { column: string; label: string }[],
  axis: string[],
): Map<string, (number | null)[]> {
  const series = new Map<string, (number | null)[]>(columns.map(({ label }) => [label, axis.map(() => null)]));
  for (const row of table.rows) {
    const i = axis.indexOf(monthOf(table, row));
    if (i < 0) continue;
    for (const { column, label } of columns) series.get(label)![i] = num(row[column], ledger.ccy);
  }
  // A column that is empty or zero in every month only clutters the legend.
  return new Map([...series.entries()].filter(([, data]) => data.some((v) => v !== null && v !== 0)));
}

/** "datacenter_ops_per_mtok" -> "Datacenter ops"; "other_rnd" -> "Other R&D". */
const labelOf = (column: string, suffix = "") => {
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
const CLASS_LABELS: Record<string, string> = {
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
function costLines(table: Table): { column: string; cls: string; label: string }[] {
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
const leafName = (v: any) => String(v).split(":").pop() as string;

/** Record the spec a panel drew, for tests and for debugging in the console. */
function record(title: string, spec: EChartsSpec): EChartsSpec {
  const w = window as any;
  w.unitEconomics = w.unitEconomics ?? {};
  w.unitEconomics[title] = spec;
  // No animation: the page is read, not watched, and screenshots must be stable.
  return { animation: false, ...spec };
}

const fmtMoney = (ccy: string, digits = 2) =>
  new Intl.NumberFormat("en-US", { style: "currency", currency: ccy, maximumFractionDigits: digits }).format;
const fmtNumber = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }).format;
const fmtCompact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format;
const anyFmt = (f: (v: number) => string) => (v: any) => (typeof v === "number" ? f(v) : "—");

// Cool colours for cost of serving (COGS), warm ones for everything else.
const COOL = ["#1f4e8c", "#3b7dd8", "#7fb2f0", "#1b8a7a", "#52c1a9", "#9fdcc9", "#5b5fc7", "#9a9ee8", "#c5c8f2"];
const WARM = ["#d9622b", "#f2a65a", "#b8475f", "#8c6d62", "#e8c547", "#c27c0e", "#e07b91", "#7d5a3c", "#f4cf8c", "#a3a3a3"];

function stackedBars(
  title: string,
  axis: string[],
  series: Map<string, (number | null)[]>,
  unit: (v: number) => string,
  options: { colors?: (name: string, i: number) => string | undefined; axisUnit?: (v: number) => string } = {},
): EChartsSpec {
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

const TITLES = {
  margins: "Gross and net margin per million tokens",
  costStack: "Cost per million tokens, by cost line",
  tiers: "Tokens served by tier (MTOK)",
  models: "Tokens served by model (MTOK)",
  gpuh: "GPU-hours by workload (idle included)",
  pools: "Where the shared pools went: pool → activity → cost class (step-down pools in grey)",
};

/** Half-width panel: million tokens per month, stacked by one dimension (tier or model). */
function tokensPanel(title: string, query: string, dimension: string) {
  return {
    title,
    width: "50%",
    height: "340px",
    kind: "echarts" as const,
    spec: async ({ ledger }: { ledger: Ledger }) => {
      const t = await runSaved(ledger, query);
      const axis = months(ledger);
      const key = col(t, query, dimension);
      const mtok = col(t, query, "million_tokens", "mtok", "tokens");
      return stackedBars(title, axis, pivot(ledger, t, (r) => leafName(r[key]), mtok, axis), fmtNumber, {
        axisUnit: fmtCompact,
      });
    },
  };
}

export default defineConfig({
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
          title: TITLES.margins,
          width: "100%",
          height: "380px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const [gross, net] = await Promise.all([runSaved(ledger, Q.gross), runSaved(ledger, Q.net)]);
            const axis = months(ledger);
            const g = pivot(ledger, gross, () => "Gross margin / MTOK", col(gross, Q.gross, "gross_margin_per_mtok", "per_mtok"), axis);
            const n = pivot(ledger, net, () => "Net margin / MTOK", col(net, Q.net, "net_margin_per_mtok", "per_mtok"), axis);
            const money = fmtMoney(ledger.ccy);
            const colors: Record<string, string> = { "Gross margin / MTOK": "#3daf46", "Net margin / MTOK": "#af3d3d" };
            return record(TITLES.margins, {
              tooltip: { trigger: "axis", valueFormatter: anyFmt(money) },
              legend: { bottom: 0 },
              grid: { left: 70, right: 20, top: 20, bottom: 50 },
              xAxis: { type: "category", data: axis, boundaryGap: false },
              yAxis: { type: "value", scale: false, axisLabel: { formatter: money } },
              series: [...g.entries(), ...n.entries()].map(([name, data], i) => ({
                type: "line",
                name,
                data,
                color: colors[name],
                connectNulls: false,
                ...(i === 0
                  ? {
                      markLine: {
                        silent: true,
                        symbol: "none",
                        label: { show: false },
                        lineStyle: { color: "#555", type: "solid", width: 1.5 },
                        data: [{ yAxis: 0 }],
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
          height: "500px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await runSaved(ledger, Q.costStack);
            const axis = months(ledger);
            // Every line column is named <class>__<line>_per_mtok by the query, with the cost
            // class that ailab_books.plugins.classify resolved: the page reads each column's
            // class from its name and decides none itself (no column position, no account
            // pattern). cogs_per_mtok and full_cost_per_mtok are the gross and net totals.
            const cogsTotal = col(t, Q.costStack, "cogs_per_mtok");
            const fullTotal = col(t, Q.costStack, "full_cost_per_mtok");
            const parts = costLines(t);
            const classOf = new Map(parts.map(({ label, cls }) => [label, cls]));
            const money = fmtMoney(ledger.ccy);
            const bars = columnsAsSeries(ledger, t, parts, axis);
            const totals = columnsAsSeries(
              ledger,
              t,
              [
                { column: cogsTotal, label: "Total COGS / MTOK (gross view)" },
                { column: fullTotal, label: "Full cost / MTOK (net view)" },
              ],
              axis,
            );
            let cool = 0;
            let warm = 0;
            const spec = stackedBars(TITLES.costStack, axis, bars, money, {
              colors: (name) =>
                classOf.get(name) === COGS_CLASS ? COOL[cool++ % COOL.length] : WARM[warm++ % WARM.length],
            });
            const lineColors = ["#1b1b1b", "#af3d3d"];
            (spec.series as any[]).push(
              ...[...totals.entries()].map(([name, data], i) => ({
                type: "line",
                name,
                data,
                color: lineColors[i],
                lineStyle: { type: i === 0 ? "dashed" : "solid", width: 2 },
                symbol: "none",
                z: 10,
              })),
            );
            return record(TITLES.costStack, spec);
          },
        },
        tokensPanel(TITLES.tiers, Q.byTier, "tier"),
        tokensPanel(TITLES.models, Q.byModel, "model"),
        {
          title: TITLES.gpuh,
          width: "100%",
          height: "380px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await runSaved(ledger, Q.gpuh);
            const axis = months(ledger);
            // One column per workload between the total and the *_share columns.
            const total = col(t, Q.gpuh, "gpu_hours");
            const skip = new Set(["year", "month", "period", total.toLowerCase()]);
            const workloads = t.columns
              .filter((c) => !skip.has(c.toLowerCase()) && !c.endsWith("_share"))
              .map((column) => ({ column, label: labelOf(column) }));
            return stackedBars(TITLES.gpuh, axis, columnsAsSeries(ledger, t, workloads, axis), fmtNumber, {
              axisUnit: fmtCompact,
              colors: (name) => (name === "Idle" ? "#a3a3a3" : undefined),
            });
          },
        },
        {
          title: TITLES.pools,
          width: "100%",
          height: "620px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await runSaved(ledger, Q.audit);
            const pool = col(t, Q.audit, "pool");
            const activity = col(t, Q.audit, "activity");
            const target = col(t, Q.audit, "target", "account");
            const amount = col(t, Q.audit, "amount");
            const currency = t.columns.find((c) => c.toLowerCase() === "currency");
            const rows = t.rows.filter(
              (r) => String(r[pool]).startsWith("Expenses:Shared:") && (!currency || r[currency] === ledger.ccy),
            );
            // Step-down: a target that is itself a pool continues as that pool's node.
            const pools = new Set(rows.map((r) => String(r[pool])));
            const poolNode = (account: string) => `pool ${account.replace(/^Expenses:Shared:/, "")}`;
            // The cost class is the one ailab_books.plugins.classify resolved and wrote on the
            // target's `open` directive as cost-class metadata; the page has no rule of its own
            // (an account without it, which classify reports as an error, is "unclassified").
            const classNode = (account: string) =>
              `class ${String(ledger.accounts[account]?.meta?.["cost-class"] ?? "unclassified")}`;
            const links = new Map<string, number>();
            const add = (source: string, dest: string, value: number) => {
              const key = `${source}\u0000${dest}`;
              links.set(key, (links.get(key) ?? 0) + value);
            };
            for (const row of rows) {
              const v = num(row[amount], ledger.ccy);
              if (!v) continue;
              const dest = String(row[target]);
              const act = String(row[activity]);
              add(poolNode(String(row[pool])), act, v);
              add(act, pools.has(dest) ? poolNode(dest) : classNode(dest), v);
            }
            const names = new Set<string>();
            const data = [...links.entries()]
              .filter(([, v]) => v > 0)
              .map(([key, value]) => {
                const [source, dest] = key.split("\u0000");
                names.add(source);
                names.add(dest);
                return { source, target: dest, value: Math.round(value * 100) / 100 };
              });
            const nodeColor = (name: string) =>
              name.startsWith("pool ")
                ? "#7a7a7a"
                : name === `class ${COGS_CLASS}`
                  ? "#3b7dd8"
                  : name.startsWith("class ")
                    ? "#d9622b"
                    : "#52c1a9";
            return record(TITLES.pools, {
              tooltip: { trigger: "item", valueFormatter: anyFmt(fmtMoney(ledger.ccy, 0)) },
              series: [
                {
                  type: "sankey",
                  left: 10,
                  right: 130,
                  top: 10,
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
  ],
});

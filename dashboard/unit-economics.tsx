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
  costStack: "cost-stack", // month, cost line, cost per MTOK
  byTier: "margin-by-tier", // month, tier, MTOK
  byModel: "margin-by-model", // month, model, MTOK
  gpuh: "gpu-hours-by-workload", // month, workload, GPUH
  audit: "allocation-audit", // pool, month, activity, target, amount
};

type Row = Record<string, any>;
type Table = { columns: string[]; rows: Row[] };

const cache = new Map<string, Promise<Table>>();

/** Run a saved query through Fava's /api/query with the page's current filters. */
function runSaved(ledger: Ledger, name: string): Promise<Table> {
  const url = ledger.urlFor(`../../api/query?query_string=${encodeURIComponent(`.run ${name}`)}`);
  let pending = cache.get(url);
  if (pending === undefined) {
    pending = fetch(url).then(async (resp) => {
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

function hasMonth(table: Table): boolean {
  const lower = table.columns.map((c) => c.toLowerCase());
  return ["period", "month", "ym", "date"].some((k) => lower.includes(k));
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

/**
 * Rows inside the page's time filter. Fava's time filter summarises earlier
 * balances (the Equity:Stats drivers included) into an opening entry dated the
 * day before the filter starts; that month is not part of the period.
 */
function inPeriod(ledger: Ledger, table: Table): Row[] {
  if (!ledger.filterFirst || !hasMonth(table)) return table.rows;
  const first = ledger.filterFirst.slice(0, 7);
  const last = ledger.filterLast ? ledger.filterLast.slice(0, 7) : "9999-12";
  return table.rows.filter((r) => {
    const ym = monthOf(table, r);
    return ym >= first && ym <= last;
  });
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
  for (const row of inPeriod(ledger, table)) {
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
const anyFmt = (f: (v: number) => string) => (v: any) => (typeof v === "number" ? f(v) : "—");

function stackedBars(
  title: string,
  axis: string[],
  series: Map<string, (number | null)[]>,
  unit: (v: number) => string,
): EChartsSpec {
  return record(title, {
    tooltip: { trigger: "axis", valueFormatter: anyFmt(unit) },
    legend: { bottom: 0, type: "scroll" },
    grid: { left: 70, right: 20, top: 20, bottom: 60 },
    xAxis: { type: "category", data: axis },
    yAxis: { type: "value", axisLabel: { formatter: unit } },
    series: [...series.entries()].map(([name, data]) => ({
      type: "bar",
      name,
      stack: "total",
      emphasis: { focus: "series" },
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
  pools: "Where the shared pools went: pool → activity → cost class",
};

export default defineConfig({
  dashboards: [
    {
      name: "Unit economics",
      panels: [
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
          height: "380px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await runSaved(ledger, Q.costStack);
            const axis = months(ledger);
            const line = col(t, Q.costStack, "line", "cost_line");
            const value = col(t, Q.costStack, "cost_per_mtok", "per_mtok");
            const label = (r: Row) => String(r[line]).replace(/^Expenses:COGS:/, "").replace(/^Inference:/, "");
            return stackedBars(TITLES.costStack, axis, pivot(ledger, t, label, value, axis), fmtMoney(ledger.ccy));
          },
        },
        {
          title: TITLES.tiers,
          width: "50%",
          height: "340px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await runSaved(ledger, Q.byTier);
            const axis = months(ledger);
            const tier = col(t, Q.byTier, "tier");
            const mtok = col(t, Q.byTier, "million_tokens", "mtok", "tokens");
            return stackedBars(TITLES.tiers, axis, pivot(ledger, t, (r) => leafName(r[tier]), mtok, axis), fmtNumber);
          },
        },
        {
          title: TITLES.models,
          width: "50%",
          height: "340px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await runSaved(ledger, Q.byModel);
            const axis = months(ledger);
            const model = col(t, Q.byModel, "model");
            const mtok = col(t, Q.byModel, "million_tokens", "mtok", "tokens");
            return stackedBars(TITLES.models, axis, pivot(ledger, t, (r) => leafName(r[model]), mtok, axis), fmtNumber);
          },
        },
        {
          title: TITLES.gpuh,
          width: "50%",
          height: "380px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await runSaved(ledger, Q.gpuh);
            const axis = months(ledger);
            const workload = col(t, Q.gpuh, "workload");
            const gpuh = col(t, Q.gpuh, "gpuh", "gpu_hours", "hours");
            return stackedBars(TITLES.gpuh, axis, pivot(ledger, t, (r) => leafName(r[workload]), gpuh, axis), fmtNumber);
          },
        },
        {
          title: TITLES.pools,
          width: "50%",
          height: "380px",
          kind: "echarts",
          spec: async ({ ledger }) => {
            const t = await runSaved(ledger, Q.audit);
            const pool = col(t, Q.audit, "pool");
            const activity = col(t, Q.audit, "activity");
            const target = col(t, Q.audit, "target", "account");
            const amount = col(t, Q.audit, "amount");
            // The cost class is the one plugins.classify resolved and wrote on the
            // target's `open` as cost-class metadata.
            const classOf = (account: string) =>
              String(ledger.accounts[account]?.meta?.["cost-class"] ?? account.split(":").slice(0, 2).join(":"));
            const links = new Map<string, number>();
            const add = (source: string, target: string, value: number) => {
              const key = `${source}\u0000${target}`;
              links.set(key, (links.get(key) ?? 0) + value);
            };
            for (const row of inPeriod(ledger, t)) {
              const v = num(row[amount], ledger.ccy);
              if (!v) continue;
              const p = `pool: ${String(row[pool]).replace(/^Expenses:Shared:/, "")}`;
              const a = `${leafName(row[pool])} → ${row[activity]}`;
              add(p, a, v);
              add(a, `class: ${classOf(String(row[target]))}`, v);
            }
            const names = new Set<string>();
            const data = [...links.entries()]
              .filter(([, v]) => v > 0)
              .map(([key, value]) => {
                const [source, target] = key.split("\u0000");
                names.add(source);
                names.add(target);
                return { source, target, value: Math.round(value * 100) / 100 };
              });
            return record(TITLES.pools, {
              tooltip: { trigger: "item", valueFormatter: anyFmt(fmtMoney(ledger.ccy, 0)) },
              series: [
                {
                  type: "sankey",
                  left: 10,
                  right: 150,
                  top: 10,
                  bottom: 10,
                  nodeGap: 6,
                  emphasis: { focus: "adjacency" },
                  lineStyle: { color: "gradient", curveness: 0.5, opacity: 0.4 },
                  label: { fontSize: 11 },
                  data: [...names].map((name) => ({ name })),
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

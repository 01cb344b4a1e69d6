import { cpus, totalmem } from 'node:os';

/** One line of the results table: a figure beside the baseline measured in the same run. */
export interface ResultRow {
  benchmark: string;
  metric: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  /** null: no target for this line. */
  met: boolean | null;
}

export interface BenchResult {
  name: string;
  rows: ResultRow[];
  /** Details worth keeping beside the table: breakdowns, diagnostics, caveats. */
  notes: string[];
}

export interface RunInfo {
  date: string;
  node: string;
  cores: number;
  cpuModel: string;
  memoryGb: number;
  postgres: string;
  redis: string;
  layout: string;
  durationS: number;
  options: string;
  /** 1-minute load averages at the start and the end of the run. */
  load: [number, number];
}

export function machineInfo(): Pick<RunInfo, 'cores' | 'cpuModel' | 'memoryGb' | 'node'> {
  const list = cpus();
  return { cores: list.length, cpuModel: list[0]?.model.trim() ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
}

const cell = (s: string) => s.replace(/\|/g, '\\|');
const verdict = (met: boolean | null) => (met === null ? '' : met ? 'yes' : '**no**');

export function renderTable(rows: ResultRow[]): string {
  const lines = [
    '| Benchmark | Metric | wahub | Baseline (same run) | Ratio | Target | Met |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${[r.benchmark, r.metric, r.value, r.baseline, r.ratio, r.target, verdict(r.met)].map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function renderMarkdown(info: RunInfo, results: BenchResult[]): string {
  const rows = results.flatMap((r) => r.rows);
  const out = [
    '# wahub benchmarks',
    '',
    `- Date: ${info.date}`,
    `- Machine: ${info.cores} cores (os.cpus().length), ${info.cpuModel}, ${info.memoryGb} GB`,
    `- Node ${info.node}; ${info.postgres}; Redis ${info.redis}`,
    `- Layout: ${info.layout}`,
    `- Options: ${info.options}; total run ${info.durationS.toFixed(0)} s`,
    `- Load average (1 min) at the start and the end: ${info.load[0].toFixed(2)} / ${info.load[1].toFixed(2)}. The notes say, for each measured phase, where the machine's CPU went ("everything else" is Redis, Postgres background work and other processes): absolute figures from a busy machine are pessimistic, the ratios to same-run baselines hold better.`,
    '',
    renderTable(rows),
    '',
  ];
  for (const r of results) {
    if (r.notes.length === 0) continue;
    out.push(`## ${r.name}`, '', ...r.notes.map((n) => `- ${n}`), '');
  }
  return out.join('\n');
}

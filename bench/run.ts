/**
 * `npm run bench [-- <scenario>...] [--duration s] [--rounds n] [--warmup s] [--connections n] [--no-variants] [--out file|-]`:
 * runs the scenarios, prints the Markdown report and writes it to bench/RESULTS.md.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { abort, runScenario, type BenchOptions, type ScenarioResult } from './harness.ts'
import { pickTool } from './load.ts'
import { cores, cpuModel, packageVersion, pinning, versionOf } from './proc.ts'
import { hasErrors, renderReport, type Meta } from './report.ts'
import { SCENARIOS, scenarioNamed } from './scenarios.ts'

export const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url))

export interface RunOptions extends Partial<BenchOptions> {
  scenarios?: string[]
  /** Include the pipeline variants with one hook off each. @default true */
  variants?: boolean
}

/** Defaults sized so a full run (every scenario, every variant) ends in about seven minutes. */
export function options(o: RunOptions = {}, env = process.env): BenchOptions & { scenarios: string[]; variants: boolean } {
  const num = (v: number | undefined, name: string, dflt: number) => {
    const n = v ?? (env[name] !== undefined ? Number(env[name]) : dflt)
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} is ${JSON.stringify(env[name] ?? v)}; expected a number of at least 0`)
    return n
  }
  return {
    scenarios: o.scenarios?.length ? o.scenarios : SCENARIOS.map((s) => s.name),
    connections: Math.max(1, num(o.connections, 'BENCH_CONNECTIONS', 50)),
    duration: Math.max(1, num(o.duration, 'BENCH_DURATION', 8)),
    warmup: num(o.warmup, 'BENCH_WARMUP', 5),
    rewarm: num(o.rewarm, 'BENCH_REWARM', 1),
    rounds: Math.max(1, Math.round(num(o.rounds, 'BENCH_ROUNDS', 3))),
    tool: o.tool ?? pickTool(env),
    variants: o.variants ?? true,
    log: o.log,
  }
}

export function meta(tool: BenchOptions['tool']): Meta {
  return {
    date: new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC'),
    cpu: cpuModel(),
    cores: cores(),
    pinned: pinning().server !== undefined,
    versions: {
      bun: process.versions.bun ?? 'missing',
      node: versionOf(process.env.BENCH_NODE ?? 'node', ['--version']),
      elysia: packageVersion('elysia'),
      fastify: packageVersion('fastify'),
      'postgres.js': packageVersion('postgres'),
      ...(tool === 'wrk'
        ? {
            wrk: versionOf('wrk', ['-v'])
              .replace(/^wrk\s+/, '')
              .replace(/\s+\[.*$/, ''),
          }
        : { autocannon: packageVersion('autocannon') }),
    },
  }
}

/** Run the scenarios and return their results (the smoke test calls this with short settings). */
export async function runBench(o: RunOptions = {}): Promise<{ results: ScenarioResult[]; report: string }> {
  const opts = options(o)
  const scenarios = opts.scenarios
    .map(scenarioNamed)
    .map((s) => (opts.variants ? s : { ...s, stacks: s.stacks.filter((x) => x.role !== 'variant') }))
  const results: ScenarioResult[] = []
  for (const s of scenarios) {
    opts.log?.(`${s.title}`)
    results.push(await runScenario(s, opts))
  }
  return { results, report: renderReport(results, opts, meta(opts.tool)) }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      out: { type: 'string' },
      'no-variants': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(
      `usage: npm run bench -- [${SCENARIOS.map((s) => s.name).join('|')} ...] [--duration s] [--rounds n] [--warmup s] [--connections n] [--no-variants] [--out file|-]`,
    )
    return
  }
  const n = (v: string | undefined) => (v === undefined ? undefined : Number(v))
  process.on('SIGINT', () => void abort().finally(() => process.exit(130)))
  process.on('SIGTERM', () => void abort().finally(() => process.exit(143)))
  const { results, report } = await runBench({
    scenarios: positionals,
    duration: n(values.duration),
    rounds: n(values.rounds),
    warmup: n(values.warmup),
    connections: n(values.connections),
    variants: !values['no-variants'],
    log: (line) => console.error(line),
  })
  console.log(report)
  const out = values.out ?? RESULTS
  if (out !== '-') {
    writeFileSync(out, report)
    console.error(`written to ${out}`)
  }
  if (hasErrors(results)) {
    console.error('this run had non-2xx responses or socket errors; see the ⚠ marks')
    process.exitCode = 1
  }
}

if (import.meta.main) await main()

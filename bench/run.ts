/**
 * `npm run bench [-- <scenario>...] [--duration s] [--rounds n] [--warmup s] [--connections n] [--no-variants] [--out file|-]`:
 * runs the scenarios, prints the Markdown report and writes it to bench/RESULTS.md.
 * The chat scenarios (bench/chat/) run only when named, and replace only their own sections.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { abort, runScenario, type BenchOptions, type ScenarioResult } from './harness.ts'
import { pickTool } from './load.ts'
import { cores, cpuModel, packageVersion, pinning, versionOf } from './proc.ts'
import { hasErrors, renderReport, type Meta } from './report.ts'
import { SCENARIOS, scenarioNamed } from './scenarios.ts'
import { abortChat, CHAT_SCENARIOS, chatErrors, isChatScenario, runChat } from './chat/bench.ts'
import { chatMeta, fencedNames, keepSections, mergeSections, renderChat } from './chat/report.ts'

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
    scenarios: o.scenarios?.length ? o.scenarios : SCENARIOS.filter((s) => !s.namedOnly).map((s) => s.name),
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
      turns: { type: 'string' },
      clients: { type: 'string' },
      streams: { type: 'string' },
      sockets: { type: 'string' },
      'idle-sockets': { type: 'string' },
      'chat-db': { type: 'string' },
      'chat-dispatch': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(
      `usage: npm run bench -- [${SCENARIOS.map((s) => s.name).join('|')} ...] [--duration s] [--rounds n] [--warmup s] [--connections n] [--no-variants] [--out file|-]\n` +
        `       npm run bench -- ${CHAT_SCENARIOS.map((s) => s.name).join(' | ')} [--turns n] [--clients n] [--streams n] [--sockets n] [--idle-sockets n] [--chat-db memory|postgres] [--chat-dispatch in-process|llm-queue] (not in the default set)`,
    )
    return
  }
  const n = (v: string | undefined) => (v === undefined ? undefined : Number(v))
  const stopAll = () => Promise.all([abort(), abortChat()])
  process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)))
  process.on('SIGTERM', () => void stopAll().finally(() => process.exit(143)))
  const chatNames = positionals.filter(isChatScenario)
  const httpNames = positionals.filter((p) => !isChatScenario(p))
  const out = values.out ?? RESULTS
  // Read when writing, not at the start: another run may have written since.
  const current = () => (existsSync(out) ? readFileSync(out, 'utf8') : '')
  let sections: { name: string; text: string }[] = []
  if (chatNames.length) {
    const chat = await runChat(chatNames, {
      turns: n(values.turns),
      clients: n(values.clients),
      streams: n(values.streams),
      sockets: n(values.sockets),
      idleSockets: n(values['idle-sockets']),
      database: values['chat-db'] as 'memory' | 'postgres' | undefined,
      dispatch: values['chat-dispatch'] as 'in-process' | 'llm-queue' | undefined,
      log: (line) => console.error(line),
    })
    sections = renderChat(chat, chatMeta())
    console.log(sections.map((s) => s.text).join('\n\n'))
    if (chat.some((r) => chatErrors(r) > 0)) {
      console.error('a chat scenario had errors; see the ⚠ marks')
      process.exitCode = 1
    }
    if (!httpNames.length) {
      if (out !== '-') {
        writeFileSync(out, mergeSections(current() || '# Benchmark results\n', sections))
        console.error(`written to ${out}`)
      }
      return
    }
  }
  const { results, report } = await runBench({
    scenarios: httpNames,
    duration: n(values.duration),
    rounds: n(values.rounds),
    warmup: n(values.warmup),
    connections: n(values.connections),
    variants: !values['no-variants'],
    log: (line) => console.error(line),
  })
  console.log(report)
  if (out !== '-') {
    // Every fenced section of the file is kept (chat results, the before/after table), the HTTP part replaced.
    const existing = current()
    writeFileSync(out, mergeSections(keepSections(report, existing, fencedNames(existing)), sections))
    console.error(`written to ${out}`)
  }
  if (hasErrors(results)) {
    console.error('this run had non-2xx responses or socket errors; see the ⚠ marks')
    process.exitCode = 1
  }
}

if (import.meta.main) await main()

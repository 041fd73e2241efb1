/**
 * Runs scenarios: starts every stack of a scenario as its own pinned process, checks each
 * answers the route with a 200 and the same JSON as bare Elysia, then loads them in rounds
 * (order reversed every other round, so drift on a shared machine hits all alike; only the
 * stack being measured runs, the others are frozen) and keeps the medians.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLoad, type LoadTool } from './load.ts'
import { cores, pinning, type Pinning } from './proc.ts'
import type { Context, Scenario, StackSpec } from './types.ts'
import { killAll, startServer, type Running } from './stack.ts'

export interface BenchOptions {
  connections: number
  /** Seconds per measurement. */
  duration: number
  /** Seconds of load before a stack's first measurement, not counted. */
  warmup: number
  /** Seconds of load before each later measurement, to bring a stack back from idle. */
  rewarm: number
  rounds: number
  tool: LoadTool
  log?: (line: string) => void
}

export interface Sample {
  rps: number
  p50Ms: number
  p99Ms: number
  non2xx: number
  socketErrors: number
  requests: number
  rssMiB?: number
  /** Server CPU time (all threads) per request, in microseconds. */
  cpuUsPerReq?: number
  /** Share of its core the load generator used. */
  loadCpu?: number
}

export interface Row {
  spec: StackSpec
  samples: Sample[]
  /** Medians over the rounds; non-2xx and socket errors are totals. */
  rps: number
  p50Ms: number
  p99Ms: number
  rssMiB?: number
  cpuUsPerReq?: number
  loadCpu?: number
  non2xx: number
  socketErrors: number
  /** Access log bytes the server wrote to stdout during the whole run. */
  stdoutBytes: number
  /** (max - min) / median of req/s over the rounds. */
  spread: number
}

export interface ScenarioResult {
  scenario: Scenario
  rows: Row[]
  skipped?: string
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const medianOf = (xs: (number | undefined)[]): number | undefined => {
  const ok = xs.filter((x): x is number => x !== undefined && Number.isFinite(x))
  return ok.length ? median(ok) : undefined
}

let active: { scenario: Scenario; ctx: Context } | undefined

/** On an interrupted run: kill the servers and undo the scenario's setup (drop its database). */
export async function abort(): Promise<void> {
  killAll()
  const a = active
  active = undefined
  await a?.scenario.teardown?.(a.ctx).catch(() => {})
}

export async function runScenario(scenario: Scenario, o: BenchOptions): Promise<ScenarioResult> {
  const log = o.log ?? (() => {})
  const why = await scenario.unavailable?.()
  if (why) {
    log(`skipping ${scenario.name}: ${why}`)
    return { scenario, rows: [], skipped: why }
  }
  const pins: Pinning = pinning()
  const dir = mkdtempSync(join(tmpdir(), 'scale-bench-'))
  let ctx: Context = {}
  const servers = new Map<string, { run: Running; headers: Record<string, string> }>()
  try {
    ctx = (await scenario.setup?.()) ?? {}
    active = { scenario, ctx }
    const start = async (spec: StackSpec) => {
      log(`  starting ${spec.label}`)
      const run = await startServer({
        label: spec.label,
        argv: spec.argv,
        env: spec.env?.(ctx) ?? {},
        readyPath: spec.readyPath,
        cpu: pins.server,
        stdoutFile: join(dir, `${spec.id}.log`),
      })
      servers.set(spec.id, { run, headers: (await spec.prepare?.(run.base, ctx)) ?? {} })
    }
    // Start-up (embedded database, migrations) is slow and not measured: start a few at once.
    await inParallel(
      scenario.stacks.filter((s) => !s.late),
      cores(),
      start,
    )
    for (const s of scenario.stacks.filter((s) => s.late)) await start(s)
    await preflight(scenario, servers)
    // An idle runtime still uses a little CPU (timers, GC after load); frozen, the stacks not
    // being measured take nothing from the measured one's core.
    for (const { run } of servers.values()) run.pause()

    const samples = new Map<string, Sample[]>(scenario.stacks.map((s) => [s.id, []]))
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? scenario.stacks : [...scenario.stacks].reverse()
      for (const spec of order) {
        const { run, headers } = servers.get(spec.id)!
        const url = run.base + scenario.path
        const warm = round === 0 ? o.warmup : o.rewarm
        run.resume()
        if (warm > 0) await runLoad({ url, headers, connections: o.connections, seconds: warm, cpu: pins.load, tool: o.tool })
        const cpuBefore = run.cpuSeconds()
        const r = await runLoad({ url, headers, connections: o.connections, seconds: o.duration, cpu: pins.load, tool: o.tool })
        const cpuAfter = run.cpuSeconds()
        const rss = run.rssMiB()
        run.pause()
        const sample: Sample = {
          ...r,
          rssMiB: rss,
          cpuUsPerReq:
            cpuBefore !== undefined && cpuAfter !== undefined && r.requests > 0 ? ((cpuAfter - cpuBefore) * 1e6) / r.requests : undefined,
        }
        samples.get(spec.id)!.push(sample)
        const bad = sample.non2xx + sample.socketErrors
        log(
          `  round ${round + 1}/${o.rounds} ${spec.label}: ${Math.round(sample.rps)} req/s, p99 ${sample.p99Ms.toFixed(2)} ms${bad ? `, ${sample.non2xx} non-2xx, ${sample.socketErrors} socket errors` : ''}`,
        )
      }
    }
    if (scenario.stacks.some((s) => s.status !== undefined)) {
      // The load generator cannot tell an expected 304 from an error: check each answer again after the load.
      for (const { run } of servers.values()) run.resume()
      await preflight(scenario, servers)
    }
    const rows = scenario.stacks.map((spec) => summarize(spec, samples.get(spec.id)!, servers.get(spec.id)!.run.stdoutBytes()))
    return { scenario, rows }
  } finally {
    await Promise.all([...servers.values()].map((s) => s.run.stop()))
    killAll()
    active = undefined
    await scenario.teardown?.(ctx).catch((e: Error) => log(`  teardown of ${scenario.name} failed: ${e.message}`))
    rmSync(dir, { recursive: true, force: true })
  }
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item)
  }
  await Promise.all(Array.from({ length: Math.max(1, width) }, worker))
}

/** Every stack must answer the route with a 200 and the same JSON as bare Elysia, or the comparison means nothing. */
async function preflight(scenario: Scenario, servers: Map<string, { run: Running; headers: Record<string, string> }>) {
  const bodies = new Map<string, string>()
  for (const spec of scenario.stacks) {
    const { run, headers } = servers.get(spec.id)!
    const res = await fetch(run.base + scenario.path, { headers })
    const text = await res.text()
    const want = spec.status ?? 200
    if (res.status !== want)
      throw new Error(`${spec.label} answered ${scenario.path} with ${res.status}, not ${want}: ${text.slice(0, 300)}`)
    if (want === 200) bodies.set(spec.id, JSON.stringify(JSON.parse(text)))
  }
  const reference = scenario.stacks.find((s) => s.role === 'elysia')
  const want = reference && bodies.get(reference.id)
  for (const [id, body] of bodies) {
    if (want !== undefined && body !== want)
      throw new Error(`${id} answered ${scenario.path} with ${body.slice(0, 200)}; bare Elysia answered ${want.slice(0, 200)}`)
  }
}

function summarize(spec: StackSpec, samples: Sample[], stdoutBytes: number): Row {
  const rps = median(samples.map((s) => s.rps))
  const all = samples.map((s) => s.rps)
  return {
    spec,
    samples,
    rps,
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
    rssMiB: medianOf(samples.map((s) => s.rssMiB)),
    cpuUsPerReq: medianOf(samples.map((s) => s.cpuUsPerReq)),
    loadCpu: medianOf(samples.map((s) => s.loadCpu)),
    // A 3xx stack's non-2xx are its expected answers (see StackSpec.status).
    non2xx: (spec.status ?? 200) >= 300 ? 0 : samples.reduce((a, s) => a + s.non2xx, 0),
    socketErrors: samples.reduce((a, s) => a + s.socketErrors, 0),
    stdoutBytes,
    spread: rps > 0 ? (Math.max(...all) - Math.min(...all)) / rps : 0,
  }
}

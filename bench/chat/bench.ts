/**
 * The chat scenarios: `chat-latency` (send → first delta and → done, over WebSocket and HTTP
 * SSE, a few clients one turn at a time) and `chat-streams` (1,000 replies streaming at once
 * over WebSockets). Each runs against its own runtime process (`bun core/main.ts` with
 * `configs/chat.ts`) pinned to core 0, loaded by `load.ts` in its own process on core 1, while
 * this process reads the server's CPU time and RSS from /proc.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createBenchDatabase, postgresDown, ADMIN_URL, type BenchDatabase } from '../postgres.ts'
import { cores, pinned, pinning, rssMiB } from '../proc.ts'
import { dropKeysUnder } from '../redis-keys.ts'
import { killAll, startServer, type Running } from '../stack.ts'
import { runIdle, settledRss, type IdleOutput } from './idle.ts'
import type { ErrorTally, LatencyOutput, Spec, StreamsOutput, TurnTiming } from './load.ts'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const bun = process.execPath
const MAIN = here('../../core/main.ts')
export const CHAT_CONFIG = here('../configs/chat.ts')
const CHAT_QUEUE_CONFIG = here('../configs/chat-queue.ts')
const WORKER = here('../../core/worker.ts')
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const LOAD = here('./load.ts')
const PASSWORD = 'bench password, long enough'
/** The tier's maxTokens in configs/base.ts: the fake reply is never cut below that. */
const MAX_TOKENS = 4096
/** chat-streams: quiet after the load before the settled RSS is read. */
const SETTLE_MS = 10_000

export const CHAT_SCENARIOS = [
  { name: 'chat-latency', title: 'chat-latency: send → first delta and → done, WebSocket and HTTP SSE (fake provider, 0 ms/token)' },
  { name: 'chat-streams', title: 'chat-streams: concurrent reply streams over WebSocket on one instance (fake provider, 0 ms/token)' },
  { name: 'chat-idle', title: 'chat-idle: authenticated idle WebSockets on one instance, then a ping frame on each' },
] as const
export type ChatScenarioName = (typeof CHAT_SCENARIOS)[number]['name']
export const isChatScenario = (name: string): name is ChatScenarioName => CHAT_SCENARIOS.some((s) => s.name === name)

export interface ChatOptions {
  /** chat-latency: measured turns per transport. @default 500 */
  turns: number
  /** chat-latency: clients per transport, one turn at a time each. @default 4 */
  clients: number
  /** chat-latency: turns per transport before measuring. @default 40 */
  warmupTurns: number
  /** chat-latency: rounds, transport order reversed every other one. @default 2 */
  rounds: number
  /** chat-streams: replies streaming at once. @default 1000 */
  streams: number
  /** chat-streams: sockets they are spread over. @default 1000 (one stream each) */
  sockets: number
  /** chat-streams: bursts of `streams`, one after the other (the first on the fresh process). @default 2 */
  bursts: number
  /** chat-idle: sockets held open on the one instance. @default 19000 */
  idleSockets: number
  /** chat-idle: sockets per client process (each process has its own descriptor limit). @default 5000 */
  idlePerProcess: number
  /**
   * The runtime's database: `memory` (embedded PGlite in memory, as the other bench stacks) or
   * `postgres` (a fresh database on BENCH_DATABASE_URL / TEST_DATABASE_URL, dropped afterwards).
   * @default 'memory'
   */
  database: 'memory' | 'postgres'
  /**
   * Where replies run: `in-process` (the default dispatch) or `llm-queue` (an api instance and
   * a worker process on Redis, BENCH_REDIS_URL / TEST_REDIS_URL, keys under a fresh prefix).
   * @default 'in-process'
   */
  dispatch: 'in-process' | 'llm-queue'
  log?: (line: string) => void
}

export function chatOptions(o: Partial<ChatOptions> = {}, env = process.env): ChatOptions {
  const num = (v: number | undefined, name: string, dflt: number, min = 1) => {
    const n = v ?? (env[name] !== undefined ? Number(env[name]) : dflt)
    if (!Number.isInteger(n) || n < min)
      throw new Error(`${name} is ${JSON.stringify(env[name] ?? v)}; expected an integer of at least ${min}`)
    return n
  }
  return {
    turns: num(o.turns, 'BENCH_CHAT_TURNS', 500),
    clients: num(o.clients, 'BENCH_CHAT_CLIENTS', 4),
    warmupTurns: num(o.warmupTurns, 'BENCH_CHAT_WARMUP', 40, 0),
    rounds: num(o.rounds, 'BENCH_CHAT_ROUNDS', 2),
    streams: num(o.streams, 'BENCH_CHAT_STREAMS', 1000),
    sockets: num(o.sockets, 'BENCH_CHAT_SOCKETS', 1000),
    bursts: num(o.bursts, 'BENCH_CHAT_BURSTS', 2),
    idleSockets: num(o.idleSockets, 'BENCH_CHAT_IDLE_SOCKETS', 19_000),
    idlePerProcess: num(o.idlePerProcess, 'BENCH_CHAT_IDLE_PER_PROCESS', 5_000),
    database: database(o.database ?? env.BENCH_CHAT_DB ?? 'memory'),
    dispatch: dispatchOf(o.dispatch ?? env.BENCH_CHAT_DISPATCH ?? 'in-process'),
    log: o.log,
  }
}

function dispatchOf(v: string): ChatOptions['dispatch'] {
  if (v !== 'in-process' && v !== 'llm-queue') throw new Error(`BENCH_CHAT_DISPATCH is ${JSON.stringify(v)}; expected in-process or llm-queue`)
  return v
}

function database(v: string): ChatOptions['database'] {
  if (v !== 'memory' && v !== 'postgres') throw new Error(`BENCH_CHAT_DB is ${JSON.stringify(v)}; expected memory or postgres`)
  return v
}

export interface Stat {
  n: number
  p50: number
  p99: number
  max: number
}

export interface RssFigures {
  /** Right before the measured phase (after start-up, sign-up and the conversations). */
  beforeMiB?: number
  /** Highest reading, sampled every 50 ms during the measured phase. */
  peakMiB?: number
  /** Right after the measured phase (chat-streams: at the last burst's end, its sockets still open). */
  afterMiB?: number
  /**
   * chat-streams: once the load process has exited (its sockets closed) and the server has sat
   * idle, as {@link settledRss} reads it. No collection is forced: the server offers no way to ask.
   */
  settledMiB?: number
}

/** GET /health/live sent every 100 ms (one at a time) during the measured phase: how long the server kept it waiting. */
export interface Probe {
  n: number
  p50Ms: number
  maxMs: number
}

export interface ServerChecks {
  /** llm_jobs_running + llm_jobs_queued on /metrics once the load is over (should be 0). */
  jobsLeft?: number
  /** Lines at level error or above in the server's log. */
  errorLogLines: number
  errorLogExamples: string[]
}

export interface LatencyRow {
  transport: 'WebSocket' | 'HTTP SSE'
  turns: number
  accept: Stat
  first: Stat
  done: Stat
  turnsPerSec: number
  /** Delta and done events received over the measured turns. */
  events: number
  serverCpuMsPerTurn?: number
  errors: ErrorTally
}

export interface ChatLatencyResult {
  name: 'chat-latency'
  title: string
  o: ChatOptions
  rows: LatencyRow[]
  rss: RssFigures
  probe?: Probe
  checks: ServerChecks
}

export interface ChatStreamsResult {
  name: 'chat-streams'
  title: string
  o: ChatOptions
  out: StreamsOutput
  bursts: BurstRow[]
  rss: RssFigures
  probe?: Probe
  checks: ServerChecks
}

export interface BurstRow {
  runMs: number
  completed: number
  events: number
  perSecond: number[]
  accept: Stat
  first: Stat
  done: Stat
  eventsPerSec: number
  /** Events in the busiest whole second (the last, partial second left out). */
  peakEventsPerSec: number
  serverCpuS?: number
  /** Server RSS when the burst's last reply was done. */
  rssMiB?: number
  errors: ErrorTally
}

export interface ChatIdleResult {
  name: 'chat-idle'
  title: string
  o: ChatOptions
  out: IdleOutput
  ping: Stat
  checks: ServerChecks
}

export type ChatResult = ChatLatencyResult | ChatStreamsResult | ChatIdleResult

/** Errors of a chat result: error frames, failed or wrong replies, unexpected closes, jobs left, server error log lines. */
export function chatErrors(r: ChatResult): number {
  const own =
    r.name === 'chat-latency'
      ? r.rows.reduce((a, x) => a + x.errors.count, 0)
      : r.name === 'chat-idle'
        ? r.out.failed + (r.out.opened - r.out.answered) + r.out.unexpectedCloses
        : r.out.errors.count + r.out.unexpectedCloses + r.bursts.reduce((a, b) => a + b.errors.count, 0)
  return own + (r.checks.jobsLeft ?? 0) + r.checks.errorLogLines
}

export function stat(xs: (number | undefined)[]): Stat {
  const s = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b)
  // Nearest rank: p99 of 500 samples is the 495th.
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]! : NaN)
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s.length ? s[s.length - 1]! : NaN }
}

async function register(base: string): Promise<string> {
  const res = await fetch(`${base}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `chat-bench-${crypto.randomUUID().slice(0, 8)}@example.com`, password: PASSWORD }),
    signal: AbortSignal.timeout(30_000),
  })
  const body = (await res.json()) as { token?: string }
  if (res.status !== 201 || !body.token) throw new Error(`register at ${base} answered ${res.status}: ${JSON.stringify(body)}`)
  return body.token
}

/**
 * llm_jobs_running + llm_jobs_queued from /metrics, asked again for up to 5 s while above 0:
 * an llm-queue api instance learns that its jobs started by asking Redis every 2 s.
 */
async function jobsLeft(base: string): Promise<number | undefined> {
  let n = await jobsLeftNow(base)
  for (let i = 0; i < 10 && n !== undefined && n > 0; i++) {
    await new Promise((r) => setTimeout(r, 500))
    n = await jobsLeftNow(base)
  }
  return n
}

async function jobsLeftNow(base: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
    const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
    const n = read('llm_jobs_running') + read('llm_jobs_queued')
    return Number.isFinite(n) ? n : undefined
  } catch {
    return undefined
  }
}

function errorLog(file: string): Pick<ServerChecks, 'errorLogLines' | 'errorLogExamples'> {
  let lines: string[] = []
  try {
    lines = readFileSync(file, 'utf8').split('\n')
  } catch {}
  const bad = lines.filter((l) => {
    try {
      return (JSON.parse(l) as { level?: number }).level! >= 50
    } catch {
      return false
    }
  })
  return { errorLogLines: bad.length, errorLogExamples: bad.slice(0, 3).map((l) => l.slice(0, 300)) }
}

interface LoadRun<T> {
  result: T
  /** Per mark: when it arrived (performance.now()), the server's CPU seconds and RSS then. */
  marks: Map<string, { at: number; cpu?: number; rss?: number }>
  peakRssMiB?: number
  probe?: Probe
}

/** Run load.ts pinned to the load core; sample the server's RSS while it runs; kill it after `timeoutMs`. */
function runLoad<T>(
  spec: Spec,
  server: Running,
  cpu: number | undefined,
  timeoutMs: number,
  log: (l: string) => void,
): Promise<LoadRun<T>> {
  return new Promise((resolve, reject) => {
    const argv = pinned(cpu, [bun, LOAD, JSON.stringify(spec)])
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    const marks: LoadRun<T>['marks'] = new Map()
    let result: T | undefined
    let peak: number | undefined
    let measuring = false
    const probes: number[] = []
    let probing = false
    // One request at a time, so a stalled server shows as one long wait, not a pile of them.
    const prober = setInterval(() => {
      if (!measuring || probing) return
      probing = true
      const t0 = performance.now()
      fetch(`${server.base}/health/live`, { signal: AbortSignal.timeout(60_000) })
        .then((r) => r.arrayBuffer())
        .then(() => probes.push(performance.now() - t0))
        .catch(() => probes.push(performance.now() - t0))
        .finally(() => (probing = false))
    }, 100)
    let stdout = ''
    let stderr = ''
    const sampler = setInterval(() => {
      if (!measuring) return
      const r = rssMiB(server.pid)
      if (r !== undefined) peak = Math.max(peak ?? 0, r)
    }, 50)
    const killer = setTimeout(() => {
      log(`  the load generator ran over ${timeoutMs / 1000} s: killed`)
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout.on('data', (d) => {
      stdout += d
      for (let nl = stdout.indexOf('\n'); nl >= 0; nl = stdout.indexOf('\n')) {
        const line = stdout.slice(0, nl)
        stdout = stdout.slice(nl + 1)
        const msg = JSON.parse(line) as { mark?: string; result?: T }
        if (msg.mark) {
          // A mark repeats once per round: kept as `<mark>#0`, `<mark>#1`...
          let i = 0
          while (marks.has(`${msg.mark}#${i}`)) i++
          marks.set(`${msg.mark}#${i}`, { at: performance.now(), cpu: server.cpuSeconds(), rss: server.rssMiB() })
          if (msg.mark.endsWith(':start')) measuring = true
          if (msg.mark.endsWith(':end')) measuring = false
        }
        if (msg.result) result = msg.result
      }
    })
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000)
      for (const l of String(d).split('\n')) if (l.trim()) log(l)
    })
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(sampler)
      clearInterval(prober)
      clearTimeout(killer)
      if (code !== 0 || result === undefined) return reject(new Error(`the chat load generator exited with ${code}: ${stderr.trim()}`))
      const p = stat(probes)
      resolve({ result, marks, peakRssMiB: peak, probe: p.n ? { n: p.n, p50Ms: p.p50, maxMs: p.max } : undefined })
    })
  })
}

interface Started {
  /** The runtime; with llm-queue, its api instance and worker as one (CPU and RSS summed). */
  run: Running
  logFile: string
  db?: BenchDatabase
  /** The Redis key prefix of an llm-queue run, dropped afterwards. */
  redisPrefix?: string
}

async function latencyScenario(s: Started, o: ChatOptions, load: number | undefined, log: (l: string) => void): Promise<ChatLatencyResult> {
  const token = await register(s.run.base)
  const spec: Spec = {
    mode: 'latency',
    base: s.run.base,
    token,
    turns: o.turns,
    clients: o.clients,
    warmup: o.warmupTurns,
    rounds: o.rounds,
    turnTimeoutMs: 10_000,
    maxTokens: MAX_TOKENS,
  }
  const rssBefore = s.run.rssMiB()
  // Turns take milliseconds; 10 s each at worst, per client, plus creating the conversations.
  const bound = 60_000 + ((2 * (o.turns + o.warmupTurns)) / o.clients) * 10_000
  const { result, marks, peakRssMiB, probe } = await runLoad<LatencyOutput>(spec, s.run, load, Math.min(bound, 600_000), log)
  const rssAfter = s.run.rssMiB()
  const row = (t: 'ws' | 'sse'): LatencyRow => {
    const out = result[t]
    let ms = 0
    let cpu = 0
    let cpuKnown = true
    for (const [k, v] of windows(marks, t)) {
      ms += v.at - k.at
      if (k.cpu === undefined || v.cpu === undefined) cpuKnown = false
      else cpu += v.cpu - k.cpu
    }
    return {
      transport: t === 'ws' ? 'WebSocket' : 'HTTP SSE',
      turns: out.timings.length,
      accept: stat(out.timings.map((x: TurnTiming) => x.acceptMs)),
      first: stat(out.timings.map((x) => x.firstMs)),
      done: stat(out.timings.map((x) => x.doneMs)),
      turnsPerSec: ms > 0 ? out.timings.length / (ms / 1000) : NaN,
      events: out.events,
      serverCpuMsPerTurn: cpuKnown && out.timings.length ? (cpu * 1000) / out.timings.length : undefined,
      errors: out.errors,
    }
  }
  await new Promise((r) => setTimeout(r, 500))
  return {
    name: 'chat-latency',
    title: CHAT_SCENARIOS[0].title,
    o,
    rows: [row('ws'), row('sse')],
    rss: { beforeMiB: rssBefore, peakMiB: peakRssMiB, afterMiB: rssAfter },
    probe,
    checks: { jobsLeft: await jobsLeft(s.run.base), ...errorLog(s.logFile) },
  }
}

/** The measured windows (start and end marks) of one transport, one per round. */
function windows(marks: LoadRun<unknown>['marks'], t: string) {
  const out: [NonNullable<ReturnType<typeof marks.get>>, NonNullable<ReturnType<typeof marks.get>>][] = []
  for (let r = 0; marks.has(`${t}:start#${r}`); r++) out.push([marks.get(`${t}:start#${r}`)!, marks.get(`${t}:end#${r}`)!])
  return out
}

async function streamsScenario(s: Started, o: ChatOptions, load: number | undefined, log: (l: string) => void): Promise<ChatStreamsResult> {
  const token = await register(s.run.base)
  const deadlineMs = 120_000
  const spec: Spec = {
    mode: 'streams',
    base: s.run.base,
    token,
    streams: o.streams,
    sockets: o.sockets,
    bursts: o.bursts,
    openConcurrency: 50,
    deadlineMs,
    maxTokens: MAX_TOKENS,
  }
  // Conversations (about 5 ms each), sockets, then each burst's deadline.
  const bound = 60_000 + o.streams * o.bursts * 50 + (deadlineMs + 2_000) * o.bursts
  const { result, marks, peakRssMiB, probe } = await runLoad<StreamsOutput>(spec, s.run, load, bound, log)
  // The load process has exited: every socket it held is closed. The runtime's own collection
  // of what the burst left comes 5 to 10 s after it (seen on 2 cores), so 10 s of quiet.
  const settledMiB = await settledRss(s.run, SETTLE_MS)
  const bursts = result.bursts.map((b, i): BurstRow => {
    const start = marks.get(`streams:start#${i}`)
    const end = marks.get(`streams:end#${i}`)
    const whole = b.perSecond.length > 1 ? b.perSecond.slice(0, -1) : b.perSecond
    return {
      runMs: b.runMs,
      completed: b.completed,
      events: b.events,
      perSecond: b.perSecond,
      accept: stat(b.timings.map((x) => x.acceptMs)),
      first: stat(b.timings.map((x) => x.firstMs)),
      done: stat(b.timings.map((x) => x.doneMs)),
      eventsPerSec: b.runMs > 0 ? b.events / (b.runMs / 1000) : NaN,
      peakEventsPerSec: whole.length ? Math.max(...whole) : NaN,
      serverCpuS: start?.cpu !== undefined && end?.cpu !== undefined ? end.cpu - start.cpu : undefined,
      rssMiB: end?.rss,
      errors: b.errors,
    }
  })
  return {
    name: 'chat-streams',
    title: CHAT_SCENARIOS[1].title,
    o,
    out: result,
    bursts,
    rss: {
      beforeMiB: marks.get('open:start#0')?.rss,
      peakMiB: peakRssMiB,
      afterMiB: marks.get(`streams:end#${bursts.length - 1}`)?.rss,
      settledMiB,
    },
    probe,
    checks: { jobsLeft: await jobsLeft(s.run.base), ...errorLog(s.logFile) },
  }
}

async function idleScenario(s: Started, o: ChatOptions, load: number | undefined, log: (l: string) => void): Promise<ChatIdleResult> {
  const token = await register(s.run.base)
  const out = await runIdle(
    { base: s.run.base, token, sockets: o.idleSockets, perProcess: o.idlePerProcess, timeoutMs: 60_000 },
    s.run,
    load,
    log,
  )
  await new Promise((r) => setTimeout(r, 500))
  return {
    name: 'chat-idle',
    title: CHAT_SCENARIOS[2].title,
    o,
    out,
    ping: stat(out.pingMs),
    checks: { ...errorLog(s.logFile) },
  }
}

let live: Started[] = []

/** On an interrupted run: kill the chat servers and drop their databases. */
export async function abortChat(): Promise<void> {
  const all = live
  live = []
  killAll()
  await Promise.all(all.map((s) => s.db?.drop().catch(() => {})))
}

async function start(name: string, o: ChatOptions, dir: string, cpu: number | undefined, log: (l: string) => void): Promise<Started> {
  const queue = o.dispatch === 'llm-queue'
  log(`  starting the runtime for ${name}${o.database === 'postgres' ? ' (PostgreSQL)' : ''}${queue ? ' with an llm-queue worker' : ''}`)
  const logFile = join(dir, `${name}.log`)
  const started: Started = { logFile, run: undefined as unknown as Running }
  live.push(started)
  if (o.database === 'postgres') started.db = await createBenchDatabase()
  if (queue) started.redisPrefix = `bench:chat:${Date.now().toString(36)}:`
  const env = {
    SCALE_CONFIG: queue ? CHAT_QUEUE_CONFIG : CHAT_CONFIG,
    ...(started.db && { DATABASE_URL: started.db.url }),
    ...(started.redisPrefix && { REDIS_URL, REDIS_KEY_PREFIX: started.redisPrefix }),
  }
  const api = await startServer({ label: `runtime (${name})`, argv: [bun, ...profileFlags(name), MAIN], env, readyPath: '/health/live', cpu, stdoutFile: logFile })
  if (!queue) return Object.assign(started, { run: api })
  // The worker serves its health on WORKER_PORT: the free port the stack gives as PORT.
  const worker = await startServer({
    label: `llm-queue worker (${name})`,
    argv: ['sh', '-c', 'WORKER_PORT=$PORT exec "$0" "$@"', bun, ...profileFlags(`${name}-worker`), WORKER],
    env,
    readyPath: '/health/live',
    cpu,
    stdoutFile: join(dir, `${name}-worker.log`),
  }).catch(async (e) => {
    await api.stop()
    throw e
  })
  started.run = together(api, worker)
  return started
}

/** The api instance and its worker as one server: CPU and RSS summed, paused, resumed and stopped together. */
function together(api: Running, worker: Running): Running {
  const sum = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a + b)
  return {
    ...api,
    cpuSeconds: () => sum(api.cpuSeconds(), worker.cpuSeconds()),
    rssMiB: () => sum(api.rssMiB(), worker.rssMiB()),
    pause: () => (api.pause(), worker.pause()),
    resume: () => (api.resume(), worker.resume()),
    stop: async () => {
      await api.stop()
      await worker.stop()
    },
  }
}

/** Remove an llm-queue run's keys (BullMQ's queue keys have no TTL). */
async function dropRedisKeys(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    await dropKeysUnder(redis, prefix)
  } finally {
    redis.disconnect()
  }
}

/** With BENCH_CHAT_PROFILE=<dir>, the server runs under Bun's CPU profiler and writes `<dir>/<scenario>.cpuprofile` (and a `.md` summary) when it stops. */
function profileFlags(name: string): string[] {
  const dir = process.env.BENCH_CHAT_PROFILE
  return dir ? ['--cpu-prof', '--cpu-prof-md', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`] : []
}

async function stop(s: Started) {
  if (s.run) {
    // A frozen process acts on SIGTERM only once continued.
    s.run.resume()
    await s.run.stop()
  }
  await s.db?.drop()
  if (s.redisPrefix) await dropRedisKeys(s.redisPrefix).catch(() => {})
  live = live.filter((x) => x !== s)
}

/** Run the named chat scenarios, each on its own runtime process (started side by side, the idle ones frozen). */
export async function runChat(names: readonly string[], opts: Partial<ChatOptions> = {}): Promise<ChatResult[]> {
  const o = chatOptions(opts)
  const log = o.log ?? (() => {})
  for (const n of names)
    if (!isChatScenario(n)) throw new Error(`no chat scenario "${n}"; they are ${CHAT_SCENARIOS.map((s) => s.name).join(', ')}`)
  const wanted = CHAT_SCENARIOS.filter((s) => names.includes(s.name))
  if (o.database === 'postgres') {
    const why = await postgresDown()
    if (why) throw new Error(`BENCH_CHAT_DB=postgres: ${why} (set BENCH_DATABASE_URL; now ${ADMIN_URL})`)
  }
  const pins = pinning()
  const dir = mkdtempSync(join(tmpdir(), 'scale-chat-bench-'))
  const servers = new Map<string, Started>()
  try {
    // Start-up (embedded database, migrations) is the slow part and is not measured: side by
    // side, then each frozen until its turn so it takes nothing from the one being measured.
    await Promise.all(
      wanted.slice(0, Math.max(1, cores())).map(async (s) => {
        const started = await start(s.name, o, dir, pins.server, log)
        servers.set(s.name, started)
        started.run.pause()
      }),
    )
    const results: ChatResult[] = []
    for (const s of wanted) {
      log(s.title)
      let started = servers.get(s.name)
      if (started) started.run.resume()
      else servers.set(s.name, (started = await start(s.name, o, dir, pins.server, log)))
      const scenario = s.name === 'chat-latency' ? latencyScenario : s.name === 'chat-streams' ? streamsScenario : idleScenario
      results.push(await scenario(started, o, pins.load, log))
      await stop(started)
      servers.delete(s.name)
    }
    return results
  } finally {
    // Whatever is still up, including a server that failed half-way through starting.
    await Promise.all([...live].map((s) => stop(s).catch(() => {})))
    rmSync(dir, { recursive: true, force: true })
  }
}

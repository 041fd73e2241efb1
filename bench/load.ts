/** Drives the load generator (wrk when installed, autocannon from npm otherwise) and parses what it reports. */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { cpuSeconds, has, pinned } from './proc.ts'

export type LoadTool = 'wrk' | 'autocannon'

export interface LoadOptions {
  url: string
  connections: number
  /** Whole seconds; wrk takes no fractions. */
  seconds: number
  headers?: Record<string, string>
  /** Core to pin the load generator to. */
  cpu?: number
  tool: LoadTool
}

export interface LoadResult {
  requests: number
  rps: number
  p50Ms: number
  p99Ms: number
  /**
   * Responses outside 2xx. wrk counts "non-2xx or 3xx", so a 3xx would pass unseen there;
   * the harness checks each route once for an exact 200 before loading it.
   */
  non2xx: number
  /** Connect, read and write errors and timeouts. */
  socketErrors: number
  /** Share of one core the load generator used; near 1 means it, not the server, was the limit. */
  loadCpu?: number
}

/** wrk when installed (less CPU per request, so it saturates a server later), else autocannon; BENCH_LOAD forces one. */
export function pickTool(env = process.env): LoadTool {
  const forced = env.BENCH_LOAD
  if (forced === 'wrk' || forced === 'autocannon') return forced
  if (forced) throw new Error(`BENCH_LOAD is "${forced}"; expected wrk or autocannon`)
  return has('wrk') ? 'wrk' : 'autocannon'
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const seconds = Math.max(1, Math.round(o.seconds))
  const headers = Object.entries(o.headers ?? {})
  const argv =
    o.tool === 'wrk'
      ? ['wrk', '-t1', `-c${o.connections}`, `-d${seconds}s`, '--latency', ...headers.flatMap(([k, v]) => ['-H', `${k}: ${v}`]), o.url]
      : [
          process.env.BENCH_NODE ?? 'node',
          autocannonBin(),
          '-j',
          '-c',
          String(o.connections),
          '-d',
          String(seconds),
          ...headers.flatMap(([k, v]) => ['-H', `${k}=${v}`]),
          o.url,
        ]
  const { stdout, loadCpu } = await capture(pinned(o.cpu, argv), (seconds + 30) * 1000)
  const parsed = o.tool === 'wrk' ? parseWrk(stdout) : parseAutocannon(stdout)
  return { ...parsed, loadCpu: loadCpu === undefined ? undefined : loadCpu / seconds }
}

function autocannonBin(): string {
  return createRequire(import.meta.url).resolve('autocannon/autocannon.js')
}

/** Run a command to completion, sampling its CPU time while it runs (it is gone once it exits). */
function capture(argv: string[], timeoutMs: number): Promise<{ stdout: string; loadCpu?: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let cpu: number | undefined
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const sampler = setInterval(() => (cpu = cpuSeconds(child.pid!) ?? cpu), 200)
    // Bounded in time even if the generator hangs.
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearInterval(sampler)
      clearTimeout(killer)
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr.trim() || stdout.trim()}`))
      resolve({ stdout, loadCpu: cpu })
    })
  })
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

function wrkTime(text: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(text)
  if (!m) throw new Error(`wrk output has no ${pct}% latency line:\n${text}`)
  return Number(m[1]) * UNIT_MS[m[2]!]!
}

/** Parse `wrk --latency` text output. */
export function parseWrk(text: string): Omit<LoadResult, 'loadCpu'> {
  const total = /(\d+) requests in/.exec(text)
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text)
  if (!total || !rps) throw new Error(`unexpected wrk output:\n${text}`)
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  return {
    requests: Number(total[1]),
    rps: Number(rps[1]),
    p50Ms: wrkTime(text, '50'),
    p99Ms: wrkTime(text, '99'),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock ? sock.slice(1).reduce((a, n) => a + Number(n), 0) : 0,
  }
}

/** Parse `autocannon -j` JSON output. */
export function parseAutocannon(text: string): Omit<LoadResult, 'loadCpu'> {
  const r = JSON.parse(text.slice(text.indexOf('{'))) as {
    requests: { average: number; total: number }
    latency: { p50: number; p99: number }
    non2xx: number
    /** Connection errors, timeouts included. */
    errors: number
  }
  return {
    requests: r.requests.total,
    rps: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    socketErrors: r.errors,
  }
}

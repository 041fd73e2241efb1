/**
 * The `chat-idle` load: `sockets` authenticated WebSockets held open on one runtime, spread
 * over processes of `perProcess` sockets each (a process may hold at most 20,000 descriptors
 * on the machines this was written for, the server included), then a `ping` frame on every
 * socket. Reads the server's RSS before and after, so the memory a socket costs shows.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { pinned } from '../proc.ts'

const CLIENT = fileURLToPath(new URL('./idle-client.ts', import.meta.url))

export interface IdleSpec {
  base: string
  token: string
  sockets: number
  perProcess: number
  /** Bound for the open phase and for the pings, each. */
  timeoutMs: number
}

export interface IdleOutput {
  processes: number
  opened: number
  failed: number
  openMs: number
  /** Server RSS after start-up and sign-up, no socket open; and with every socket open and idle. */
  rssBeforeMiB?: number
  rssOpenMiB?: number
  pinged: number
  answered: number
  /** Send → pong of each answered ping, ms. */
  pingMs: number[]
  unexpectedCloses: number
}

/** One client process and its stdout lines, one JSON object each. */
function client(spec: object, cpu: number | undefined) {
  const argv = pinned(cpu, [process.execPath, CLIENT, JSON.stringify(spec)])
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] }) as ChildProcessWithoutNullStreams
  const waiting: ((o: Record<string, unknown>) => void)[] = []
  let buf = ''
  let stderr = ''
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)))
  child.stdout.on('data', (d) => {
    buf += d
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      waiting.shift()?.(JSON.parse(line) as Record<string, unknown>)
    }
  })
  const exited = new Promise<void>((r) => child.on('close', () => r()))
  return {
    next: (timeoutMs: number) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`an idle-socket client did not answer within ${timeoutMs} ms: ${stderr}`)), timeoutMs)
        waiting.push((o) => (clearTimeout(t), resolve(o)))
        void exited.then(() => reject(new Error(`an idle-socket client exited early: ${stderr}`)))
      }),
    say: (line: string) => child.stdin.write(`${line}\n`),
    kill: () => child.kill('SIGKILL'),
    exited,
  }
}

/**
 * The server's RSS once it has idled: read every 250 ms after `quietMs` of quiet, the median
 * of 9 readings (a collection in the middle moves one reading, not the figure).
 */
export async function settledRss(server: { rssMiB(): number | undefined }, quietMs = 3_000): Promise<number | undefined> {
  await new Promise((r) => setTimeout(r, quietMs))
  const xs: number[] = []
  for (let i = 0; i < 9; i++) {
    const v = server.rssMiB()
    if (v !== undefined) xs.push(v)
    await new Promise((r) => setTimeout(r, 250))
  }
  return xs.length ? xs.sort((a, b) => a - b)[xs.length >> 1] : undefined
}

/** Open, measure, ping, close; every client process is gone when this returns. */
export async function runIdle(
  spec: IdleSpec,
  server: { rssMiB(): number | undefined },
  cpu: number | undefined,
  log: (l: string) => void,
): Promise<IdleOutput> {
  const processes = Math.ceil(spec.sockets / spec.perProcess)
  const rssBeforeMiB = await settledRss(server)
  const t0 = performance.now()
  const clients = Array.from({ length: processes }, (_, i) => {
    const sockets = Math.min(spec.perProcess, spec.sockets - i * spec.perProcess)
    return client({ base: spec.base, token: spec.token, sockets, concurrency: 100, timeoutMs: spec.timeoutMs }, cpu)
  })
  try {
    const opened = await Promise.all(clients.map((c) => c.next(spec.timeoutMs + 5_000)))
    const openMs = performance.now() - t0
    const sum = (xs: Record<string, unknown>[], k: string) => xs.reduce((n, x) => n + Number(x[k] ?? 0), 0)
    log(`    ${sum(opened, 'opened')} sockets open (${sum(opened, 'failed')} failed) in ${Math.round(openMs)} ms over ${processes} processes`)
    const rssOpenMiB = await settledRss(server)
    for (const c of clients) c.say('ping')
    const pinged = await Promise.all(clients.map((c) => c.next(spec.timeoutMs + 5_000)))
    for (const c of clients) c.say('close')
    const closed = await Promise.all(clients.map((c) => c.next(10_000)))
    return {
      processes,
      opened: sum(opened, 'opened'),
      failed: sum(opened, 'failed'),
      openMs,
      rssBeforeMiB,
      rssOpenMiB,
      pinged: sum(pinged, 'pinged'),
      answered: sum(pinged, 'answered'),
      pingMs: pinged.flatMap((p) => p.ms as number[]),
      unexpectedCloses: sum(closed, 'unexpectedCloses'),
    }
  } finally {
    for (const c of clients) c.kill()
    await Promise.all(clients.map((c) => c.exited))
  }
}

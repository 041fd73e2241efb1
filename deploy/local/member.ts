/**
 * One process of the local cluster (an api instance or a worker): started on a fixed port so
 * that it can be restarted behind the same nginx upstream, logging to a file, ready once its
 * `/health/ready` answers 200.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

export type MemberState = 'starting' | 'ready' | 'stopping' | 'exited'

export interface Member {
  name: string
  role: 'api' | 'worker'
  port: number
  url: string
  state: MemberState
  pid(): number | undefined
  /** Start (again) and wait until ready. */
  start(): Promise<void>
  /** SIGTERM (graceful drain) and wait for the exit. */
  term(): Promise<void>
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>
  log: string
}

export interface MemberOptions {
  name: string
  role: 'api' | 'worker'
  port: number
  env: Record<string, string>
  logDir: string
  /** Told about every state change. */
  onState?: (m: Member, detail?: string) => void
}

async function waitReady(url: string, proc: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode} before it was ready`)
    const ok = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => (r.body?.cancel(), r.status === 200),
      () => false,
    )
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`not ready after ${ms} ms`)
}

export function member(opts: MemberOptions): Member {
  const entry = opts.role === 'api' ? 'core/main.ts' : 'core/worker.ts'
  const portVar = opts.role === 'api' ? 'PORT' : 'WORKER_PORT'
  let proc: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  const self: Member = {
    name: opts.name,
    role: opts.role,
    port: opts.port,
    url: `http://127.0.0.1:${opts.port}`,
    state: 'exited',
    log: join(opts.logDir, `${opts.name}.log`),
    pid: () => proc?.pid,
    async start() {
      const fd = openSync(self.log, 'a')
      const p = spawn(process.execPath, [entry], {
        cwd: ROOT,
        env: { ...process.env, ...opts.env, HOST: '127.0.0.1', [portVar]: String(opts.port) },
        stdio: ['ignore', fd, fd],
        // Its own process group: a Ctrl-C in the terminal reaches the cluster script, which
        // drains each process once, rather than every process at once and twice.
        detached: true,
      })
      closeSync(fd)
      proc = p
      exited = new Promise<void>((res) =>
        p.once('exit', (code, signal) => {
          if (proc === p) {
            self.state = 'exited'
            opts.onState?.(self, signal ? `signal ${signal}` : `exit ${code}`)
          }
          res()
        }),
      )
      self.state = 'starting'
      opts.onState?.(self)
      try {
        await waitReady(self.url, p, 60_000)
      } catch (e) {
        p.kill('SIGKILL')
        throw new Error(`${opts.name}: ${(e as Error).message} (log: ${self.log})`)
      }
      self.state = 'ready'
      opts.onState?.(self)
    },
    async term() {
      if (!proc || proc.exitCode !== null) return
      self.state = 'stopping'
      opts.onState?.(self)
      proc.kill('SIGTERM')
      await exited
    },
    async kill() {
      if (!proc || proc.exitCode !== null) return
      proc.kill('SIGKILL')
      await exited
    },
  }
  return self
}

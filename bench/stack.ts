/** One server under test as its own process: start it, pin it once it answers, read its CPU and RSS, stop it. */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, statSync } from 'node:fs'
import { cpuSeconds, freePort, pin, rssMiB } from './proc.ts'

export interface StartOptions {
  label: string
  argv: string[]
  env: Record<string, string>
  /** Path answered (any status below 500) once the server is up. */
  readyPath: string
  cpu?: number
  /** File that gets the server's stdout (its access log): written, as a user's would be, not switched off. */
  stdoutFile: string
  readyTimeoutMs?: number
}

export interface Running {
  label: string
  pid: number
  base: string
  cpuSeconds(): number | undefined
  rssMiB(): number | undefined
  /** Bytes the server has written to stdout so far (its access log). */
  stdoutBytes(): number
  /** Freeze the process (SIGSTOP) while another stack is measured, so it takes no CPU at all; `resume` thaws it. */
  pause(): void
  resume(): void
  stop(): Promise<void>
}

const live = new Set<ChildProcess>()

// The environment overlay of the runtime's config: a value left in the shell running the bench
// (say DATABASE_URL or LOG_LEVEL) must not change what is measured. Each stack sets its own.
const OVERLAY = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DATABASE_REPLICA_URLS',
  'DATA_DIR',
  'MIGRATE_ON_START',
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'JWT_SECRET',
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_BASE_URL',
  'LLM_PROVIDER',
  'LLM_MODEL',
  'LOG_LEVEL',
  'SCALE_INSTANCES',
  'SCALE_CONFIG',
  'NODE_ENV',
]

function serverEnv(own: Record<string, string>, port: number): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !OVERLAY.includes(k)) env[k] = v
  return { ...env, ...own, PORT: String(port), HOST: '127.0.0.1' }
}

/** Kill every server still running (on an interrupted run). Only our own children, by pid. */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL')
  live.clear()
}

export async function startServer(o: StartOptions): Promise<Running> {
  const port = await freePort()
  const out = openSync(o.stdoutFile, 'w')
  let stderr = ''
  // Started unpinned, so several can start side by side on all cores; pinned once ready.
  const argv = o.argv
  const child = spawn(argv[0]!, argv.slice(1), {
    env: serverEnv(o.env, port),
    stdio: ['ignore', out, 'pipe'],
  })
  closeSync(out)
  live.add(child)
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  let exited: number | null | undefined
  const done = new Promise<void>((r) =>
    child.on('exit', (code) => {
      exited = code
      live.delete(child)
      r()
    }),
  )
  const base = `http://127.0.0.1:${port}`
  const timeout = o.readyTimeoutMs ?? 120_000
  const deadline = Date.now() + timeout
  for (;;) {
    if (exited !== undefined) throw new Error(`${o.label} exited with ${exited} before it was ready:\n${stderr}`)
    try {
      const res = await fetch(base + o.readyPath)
      await res.arrayBuffer()
      if (res.status < 500) break
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${o.label} did not answer ${o.readyPath} within ${timeout} ms:\n${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const pid = child.pid!
  if (o.cpu !== undefined) pin(pid, o.cpu)
  return {
    label: o.label,
    pid,
    base,
    cpuSeconds: () => cpuSeconds(pid),
    rssMiB: () => rssMiB(pid),
    stdoutBytes: () => {
      try {
        return statSync(o.stdoutFile).size
      } catch {
        return 0
      }
    },
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async stop() {
      if (exited !== undefined) return
      // A stopped process only acts on SIGTERM once continued.
      child.kill('SIGCONT')
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await done
      clearTimeout(t)
    },
  }
}

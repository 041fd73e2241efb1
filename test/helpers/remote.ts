/** Runtimes over a real socket: child processes that are ready once they print their port, and plain HTTP calls to them. */
import { resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '../..')

export interface Proc {
  /** `http://127.0.0.1:<port>` of the api, or of a worker's health endpoint. */
  base: string
  proc: ReturnType<typeof Bun.spawn>
  output: () => string
}

/** Where and how {@link spawnUntil} starts: another command line (instead of `bun <entry>`), folder, or start deadline. */
export interface SpawnOptions {
  argv?: string[]
  cwd?: string
  timeoutMs?: number
}

/** Start `bun <entry>` from the repository root; resolves once `ready` (capturing the port) matches its output. */
export async function spawnUntil(entry: string, env: Record<string, string>, ready: RegExp, opts: SpawnOptions = {}): Promise<Proc> {
  const proc = Bun.spawn(opts.argv ?? [process.execPath, entry], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  // Keep reading both pipes for the process's whole life: a full pipe would stall it.
  let text = ''
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    const reader = stream.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      text += decoder.decode(value)
    }
  }
  void drain(proc.stdout as ReadableStream<Uint8Array>)
  void drain(proc.stderr as ReadableStream<Uint8Array>)
  // Generous: a start pays for PGlite or the plugin wiring, on a machine that may be busy.
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  while (Date.now() < deadline) {
    const m = ready.exec(text)
    if (m) return { base: `http://127.0.0.1:${m[1]}`, proc, output: () => text }
    if (proc.exitCode !== null) break
    await Bun.sleep(50)
  }
  proc.kill('SIGKILL')
  throw new Error(`${entry} did not start:\n${text}`)
}

/** Start any command line (`deno task start`, say) from the repository root; see {@link spawnUntil}. */
export const spawnCommand = (argv: string[], env: Record<string, string>, ready: RegExp, timeoutMs?: number): Promise<Proc> =>
  spawnUntil(argv.join(' '), env, ready, { argv, timeoutMs })

/** The api's start-up line, capturing the port. */
export const API_READY = /listening on http:\/\/[^:]+:(\d+)/

/** A worker's start-up lines (with WORKER_PORT set), capturing its health port. */
export const WORKER_READY = /worker health on http:\/\/[^:]+:(\d+)[\s\S]*worker running/

/** A JSON call; `body` is the parsed response (undefined when empty). */
export async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {}
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

/** Register a fresh user with an optional X-Forwarded-For; returns the status. */
export async function registerFrom(base: string, xff?: string): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (xff) headers['x-forwarded-for'] = xff
  const r = await fetch(`${base}/v1/auth/register`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email: `ip${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'long enough password' }),
  })
  await r.body?.cancel()
  return r.status
}

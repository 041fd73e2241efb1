/** Api instances (`core/main.ts`) and workers (`core/worker.ts`) as child processes, for the llm-queue process tests. */
import { resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '../..')
export const CLUSTER_FIXTURE = resolve(import.meta.dir, 'fixtures/cluster.ts')

export interface Proc {
  /** `http://127.0.0.1:<port>` of the api, or of a worker's health endpoint. */
  base: string
  proc: ReturnType<typeof Bun.spawn>
  output: () => string
}

async function spawnUntil(entry: string, env: Record<string, string>, ready: RegExp): Promise<Proc> {
  const proc = Bun.spawn([process.execPath, entry], {
    cwd: ROOT,
    env: { ...process.env, SCALE_CONFIG: CLUSTER_FIXTURE, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
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
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const m = ready.exec(text)
    if (m) return { base: `http://127.0.0.1:${m[1]}`, proc, output: () => text }
    if (proc.exitCode !== null) break
    await Bun.sleep(50)
  }
  proc.kill('SIGKILL')
  throw new Error(`${entry} did not start:\n${text}`)
}

export const startApi = (env: Record<string, string>) =>
  spawnUntil('core/main.ts', { PORT: '0', ...env }, /listening on http:\/\/[^:]+:(\d+)/)
export const startWorker = (env: Record<string, string>) =>
  spawnUntil('core/worker.ts', { WORKER_PORT: '0', ...env }, /worker health on http:\/\/[^:]+:(\d+)[\s\S]*worker running/)

/** SIGKILL whatever is still running and wait for it: for finally blocks. */
export async function killAll(procs: (Proc | undefined)[]): Promise<void> {
  for (const p of procs) if (p && p.proc.exitCode === null) p.proc.kill('SIGKILL')
  await Promise.all(procs.map((p) => p?.proc.exited))
}

export async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {}
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

/** A registered user with `n` conversations. */
export async function userWith(base: string, n: number): Promise<{ token: string; userId: string; convs: string[] }> {
  const email = `q${crypto.randomUUID().slice(0, 8)}@example.com`
  const reg = await call(base, 'POST', '/v1/auth/register', { email, password: 'correct horse battery' })
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`)
  const token = reg.body.token as string
  const convs: string[] = []
  for (let i = 0; i < n; i++) convs.push((await call(base, 'POST', '/v1/conversations', { title: `c${i}` }, token)).body.id)
  return { token, userId: reg.body.user.id, convs }
}

type Frame = Record<string, any>

/** A WebSocket test client: collects frames, waits for one matching a predicate. */
export function wsClient(url: string) {
  const ws = new WebSocket(url)
  const frames: Frame[] = []
  const waiters = new Set<() => void>()
  let closed = false
  ws.onmessage = (m) => {
    frames.push(JSON.parse(String(m.data)))
    for (const w of [...waiters]) w()
  }
  ws.onclose = () => {
    closed = true
    for (const w of [...waiters]) w()
  }
  const until = <T>(fn: () => T | undefined, ms = 20_000) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = fn()
        if (v !== undefined) {
          waiters.delete(check)
          clearTimeout(timer)
          resolve(v)
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`timed out; frames: ${JSON.stringify(frames).slice(0, 500)}`))
      }, ms)
      waiters.add(check)
      check()
    })
  return {
    ws,
    frames,
    opened: new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve()
      ws.onerror = () => reject(new Error('websocket failed to open'))
    }),
    send: (f: unknown) => ws.send(JSON.stringify(f)),
    next: (pred: (f: Frame) => boolean, ms?: number) => until(() => frames.find(pred), ms),
    closed: () => until(() => (closed ? true : undefined)),
    jobEvents: (jobId: string) => frames.filter((f) => f.jobId === jobId && typeof f.seq === 'number'),
  }
}

/** Read an SSE response to its end: the events, in order. */
export async function readSse(res: Response): Promise<Frame[]> {
  const out: Frame[] = []
  const text = await res.text()
  for (const block of text.split('\n\n')) {
    const data = block.split('\n').find((l) => l.startsWith('data: '))
    if (data) out.push(JSON.parse(data.slice(6)))
  }
  return out
}

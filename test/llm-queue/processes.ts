/** Api instances (`core/main.ts`) and workers (`core/worker.ts`) as child processes, for the llm-queue process tests. */
import { resolve } from 'node:path'
import { parseSse } from '../helpers/sse.ts'

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

export { wsClient } from '../helpers/ws-client.ts'

/** Read an SSE response to its end: the events' data, in order. */
export async function readSse(res: Response) {
  return parseSse(await res.text()).map((e) => e.data)
}

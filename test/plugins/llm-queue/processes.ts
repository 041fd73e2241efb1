/** Api instances (`core/main.ts`) and workers (`core/worker.ts`) as child processes, for the llm-queue process tests. */
import { resolve } from 'node:path'
import { API_READY, call, type Proc, spawnUntil, WORKER_READY } from '../../helpers/remote.ts'
import { REDIS_URL } from '../../helpers/services.ts'
import { parseSse } from '../../helpers/sse.ts'

export { call, type Proc }

export const CLUSTER_FIXTURE = resolve(import.meta.dir, 'fixtures/cluster.ts')

const spawn = (entry: string, env: Record<string, string>, ready: RegExp) =>
  spawnUntil(entry, { SCALE_CONFIG: CLUSTER_FIXTURE, ...env }, ready)

/** The environment of one test file's api instances and workers: its database, its Redis prefix, one secret. */
export const clusterEnv = (databaseUrl: string, prefix: string, extra: Record<string, string> = {}): Record<string, string> => ({
  SCALE_CONFIG: CLUSTER_FIXTURE,
  DATABASE_URL: databaseUrl,
  REDIS_URL,
  REDIS_KEY_PREFIX: prefix,
  JWT_SECRET: 'llm-queue-processes-secret-0123456789abcdef',
  ...extra,
})

export const startApi = (env: Record<string, string>) => spawn('core/main.ts', { PORT: '0', ...env }, API_READY)
export const startWorker = (env: Record<string, string>) => spawn('core/worker.ts', { WORKER_PORT: '0', ...env }, WORKER_READY)

/** SIGKILL whatever is still running and wait for it: for finally blocks. */
export async function killAll(procs: (Proc | undefined)[]): Promise<void> {
  for (const p of procs) if (p && p.proc.exitCode === null) p.proc.kill('SIGKILL')
  await Promise.all(procs.map((p) => p?.proc.exited))
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

export { wsClient } from '../../helpers/ws-client.ts'

/** Read an SSE response to its end: the events' data, in order. */
export async function readSse(res: Response) {
  return parseSse(await res.text()).map((e) => e.data)
}

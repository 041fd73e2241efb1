/**
 * llm-queue across runtimes: ioredis and BullMQ under Deno's Node compatibility. An api on
 * Deno (`deno task start`) whose replies a Bun worker runs, then an api on Bun whose replies
 * a Deno worker (`deno task worker`) runs, all on one PostgreSQL and one Redis queue.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { clusterEnv, killAll, readSse, startApi, startWorker, userWith, type Proc } from '../plugins/llm-queue/processes.ts'
import { call } from '../helpers/remote.ts'
import { HOOK_TIMEOUT } from '../helpers/runtime.ts'
import { describeWith, freshPostgresDatabase, postgresMissing, redisMissing } from '../helpers/services.ts'
import { uniquePrefix, useSharedRedis } from '../redis/redis.ts'
import { denoMissing, startDenoApi, startDenoWorker, terminate } from './deno.ts'

const missing = (await denoMissing()) ?? (await postgresMissing()) ?? (await redisMissing())
const prefix = uniquePrefix('deno-queue')

/** One reply through `api`, over SSE: every event in order, ending with done, and the job done. */
async function replyThrough(api: Proc) {
  const u = await userWith(api.base, 1)
  const res = await fetch(`${api.base}/v1/conversations/${u.convs[0]}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ content: 'one reply across runtimes' }),
  })
  const events = await readSse(res)
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
  expect(events.at(-1)).toMatchObject({ type: 'done' })
  expect((await call(api.base, 'GET', `/v1/jobs/${events[0].jobId}`, undefined, u.token)).body.status).toBe('done')
}

describeWith('llm-queue with an api and a worker on different runtimes [deno, postgres, redis]', missing, () => {
  const procs: (Proc | undefined)[] = []
  let db: { url: string; drop(): Promise<void> } | undefined
  let env: Record<string, string>

  beforeAll(async () => {
    db = await freshPostgresDatabase()
    env = clusterEnv(db.url, prefix, { FAKE_TOKEN_DELAY: '5 ms' })
  }, HOOK_TIMEOUT)

  afterAll(async () => {
    try {
      await Promise.all(procs.map((p) => terminate(p, 15_000)))
    } finally {
      await killAll(procs)
      await db?.drop()
    }
  }, HOOK_TIMEOUT)
  // After the processes' hooks: their keys are dropped once they stopped.
  useSharedRedis(prefix)

  test('an api on Deno, its replies run by a worker on Bun', async () => {
    const api = await startDenoApi(env) // migrates the new database first
    procs.push(api)
    const worker = await startWorker(env)
    procs.push(worker)
    expect((await call(api.base, 'GET', '/health/ready')).body.checks['llm-queue']).toStartWith('ok: 1 worker')
    await replyThrough(api)
    expect(await terminate(worker)).toBe(0)
  }, 240_000)

  test('an api on Bun, its replies run by a worker on Deno', async () => {
    const [api, worker] = await Promise.all([startApi(env), startDenoWorker(env)])
    procs.push(api, worker)
    expect((await call(api.base, 'GET', '/health/ready')).body.checks['llm-queue']).toStartWith('ok: 1 worker')
    await replyThrough(api)
    expect(await terminate(worker)).toBe(0)
  }, 240_000)
})

/**
 * Redis restarted EMPTY (no persistence) while replies run, on a private redis-server: a
 * running job's state, its stream's terminal event and its stored message still agree, and
 * every stream ends with done or error; none stops after a delta, none answers 404 forever.
 */
import { afterAll, expect, test } from 'bun:test'
import type { JobEvent, JobRunner } from '../../../core/ports/llm-dispatch.ts'
import type { QueueDispatch } from '../../../plugins/llm-queue/dispatch.ts'
import { scriptedJob } from 'scale-runtime/testing'
import { describeWith } from '../../helpers/services.ts'
import { privateRedis, redisServerMissing, type PrivateRedis } from '../../redis/private-server.ts'
import { startApiAndWorker } from './helpers.ts'

/** What the runner "stored": one message per job, as the core's runner stores it in the database. */
const stored = new Map<string, string>()
const runner: JobRunner = async function* (job, signal) {
  for (let i = 1; i <= 40; i++) {
    await new Promise((r) => setTimeout(r, 50))
    if (signal.aborted) throw signal.reason
    yield { type: 'delta', text: `w${i} ` }
  }
  const messageId = `m-${job.id}`
  stored.set(job.id, messageId)
  yield { type: 'done', messageId, usage: { inputTokens: 1, outputTokens: 40 } }
}

describeWith('llm-queue: Redis restarted empty while replies run [redis-server]', redisServerMissing(), () => {
  let redis: PrivateRedis
  let api: QueueDispatch | undefined
  let worker: QueueDispatch | undefined
  afterAll(async () => {
    await api?.stop()
    await worker?.stop()
    await redis?.kill()
  }, 30_000)

  test('4 running jobs, Redis killed and started empty: each ends with done, GET says done, the message is stored', async () => {
    redis = await privateRedis()
    ;({ api, worker } = await startApiAndWorker('llmq-empty:', redis.url, runner, 4))
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push((await api.submit(scriptedJob({}))).id)
    const seen = new Map<string, JobEvent[]>(ids.map((id) => [id, []]))
    const streams = ids.map(async (id) => {
      for await (const ev of api!.events(id, 0)) seen.get(id)!.push(ev)
    })
    // Every job has streamed some deltas: they are running.
    for (const end = Date.now() + 20_000; Date.now() < end && ids.some((id) => seen.get(id)!.length < 5);) await Bun.sleep(50)
    expect(ids.map((id) => seen.get(id)!.length >= 5)).toEqual(ids.map(() => true))

    await redis.kill()
    await Bun.sleep(500)
    await redis.start()

    await Promise.race([
      Promise.all(streams),
      Bun.sleep(45_000).then(() => {
        throw new Error(`streams did not end within 45 s: ${ids.map((id) => seen.get(id)!.at(-1)?.type).join(',')}`)
      }),
    ])
    const outcome = await Promise.all(
      ids.map(async (id) => {
        const events = seen.get(id)!
        const last = events.at(-1) as JobEvent & { messageId?: string }
        const info = await api!.get(id)
        return {
          whole: events.every((e, i) => e.seq === i + 1),
          end: last.type,
          endMessage: last.messageId,
          status: info?.status,
          messageId: info?.messageId,
          stored: stored.get(id),
        }
      }),
    )
    expect(outcome).toEqual(
      ids.map((id) => ({ whole: true, end: 'done', endMessage: `m-${id}`, status: 'done', messageId: `m-${id}`, stored: `m-${id}` })),
    )
  }, 90_000)
})

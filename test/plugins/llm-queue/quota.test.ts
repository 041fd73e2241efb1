/**
 * llm-queue quotas and tiers on the shared test Redis: a provider quota of 5 requests a
 * window makes the 6th wait in line and report its position; a paid job that arrives later
 * leaves the line before the free ones; a tier's line over its limit refuses at once.
 */
import { afterAll, afterEach, expect, test } from 'bun:test'
import type { JobRunner, LlmDispatch, ReplyJob } from '../../../core/ports/llm-dispatch.ts'
import { scriptedJob } from 'scale-runtime/testing'
import { describeWith, redisMissing } from '../../helpers/services.ts'
import { connectRedis, dropKeys, uniquePrefix } from '../../redis/redis.ts'
import { makeQueueDispatch } from './helpers.ts'

const prefixes: string[] = []
const dispatches: LlmDispatch[] = []

const withTier = (tier: 'free' | 'paid'): ReplyJob => ({ ...scriptedJob({}), tier })

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(10)
  }
}

describeWith('llm-queue quotas and tiers [redis]', await redisMissing(), () => {
  afterEach(async () => {
    for (const d of dispatches.splice(0)) await d.stop()
  })
  afterAll(async () => {
    const redis = await connectRedis()
    for (const p of prefixes) await dropKeys(redis, p)
    redis.disconnect()
  })

  test('5 requests per window: the 6th waits and is told its position; a paid job that comes later goes first', async () => {
    const prefix = uniquePrefix('llmq-quota')
    prefixes.push(prefix)
    // The quota's windows follow a clock the test turns (not the Redis server's), so no window
    // can turn while the first six are checked, however slow the machine. The window is short
    // so that a worker told to wait for the next one comes back soon (it then finds the clock
    // turned, or waits once more).
    const WINDOW = 1_000
    let now = 1_000 * WINDOW
    const started: string[] = []
    const runner: JobRunner = async function* (job) {
      started.push(job.id)
      yield { type: 'delta', text: 'hi' }
      yield { type: 'done', messageId: `m-${job.id}`, usage: { inputTokens: 1, outputTokens: 1 } }
    }
    const d = await makeQueueDispatch(
      prefix,
      { worker: 'inline', concurrency: 4, quota: { requestsPerMinute: 5, minute: WINDOW } },
      undefined,
      () => now,
    )
    dispatches.push(d)
    await d.start(runner)

    const six: string[] = []
    for (let i = 0; i < 6; i++) six.push((await d.submit(withTier('free'))).id)
    // Any five: with 4 workers, the last two jobs' quota checks can reach Redis in either order.
    const doneOf = async (ids: string[]) => (await Promise.all(ids.map((id) => d.get(id)))).filter((j) => j?.status === 'done').length
    await until(async () => (await doneOf(six)) === 5, 'five jobs done')
    await Bun.sleep(100)
    expect(started).toHaveLength(5)
    const waiting = six.find((id) => !started.includes(id))!
    expect(await d.get(waiting)).toMatchObject({ status: 'queued', position: 1 })

    const free = await d.submit(withTier('free'))
    const paid = await d.submit(withTier('paid'))
    expect((await d.get(paid.id))?.position).toBe(1)
    expect((await d.get(waiting))?.position).toBe(2)
    expect((await d.get(free.id))?.position).toBe(3)
    // The quota's counters hold the five of this window.
    const redis = await connectRedis()
    const [key] = await redis.keys(`${prefix}llmq:quota:*`)
    const counters = await redis.hgetall(key!)
    redis.disconnect()
    expect(counters).toMatchObject({ mi: String(now / WINDOW), mr: '5' })
    now += WINDOW
    await until(
      async () => (await doneOf([waiting, free.id, paid.id])) === 3,
      'the waiting jobs done',
    )
    expect(started.slice(5)).toEqual([paid.id, waiting, free.id])
  }, 60_000)

  test("a tier's line over its limit refuses at once with OVERLOADED and Retry-After; other tiers still get in", async () => {
    const prefix = uniquePrefix('llmq-tiers')
    prefixes.push(prefix)
    // No worker: everything waits.
    const d = await makeQueueDispatch(prefix, { worker: 'none', maxWaiting: { free: 2 } })
    dispatches.push(d)
    await d.start(async function* () {})
    await d.submit(withTier('free'))
    await d.submit(withTier('free'))
    const refused = withTier('free')
    const error = (await d.submit(refused).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code: string; status: number; headers: Record<string, string> }
    expect(error?.code).toBe('OVERLOADED')
    expect(error.status).toBe(503)
    expect(error.headers['Retry-After']).toMatch(/^\d+$/)
    expect(await d.get(refused.id)).toBeNull()
    expect((await d.submit(withTier('paid'))).status).toBe('queued')
  })
})

/**
 * The event appender on the shared test Redis: deltas written in runs, the final event in one
 * call with the deltas still waiting, and the stream read back whole and in order. The calls
 * are counted on the connection (EVALSHA), the stream is read with XRANGE.
 */
import { afterAll, expect, test } from 'bun:test'
import type { Redis } from 'ioredis'
import { scriptedJob } from 'scale-runtime/testing'
import { createLogger } from '../../../core/observability/logger.ts'
import { createEventAppender } from '../../../plugins/llm-queue/appender.ts'
import { queueKeys, resolveQueueOptions } from '../../../plugins/llm-queue/options.ts'
import { createJobStore, decodeEntry, parseState } from '../../../plugins/llm-queue/store.ts'
import { describeWith, redisMissing } from '../../helpers/services.ts'
import { connectRedis, dropKeys, uniquePrefix } from '../../redis/redis.ts'

const prefix = uniquePrefix('llmq-appender')

describeWith('llm-queue event appender [redis]', await redisMissing(), () => {
  let redis: Redis
  afterAll(async () => {
    if (!redis) return
    await dropKeys(redis, prefix)
    redis.disconnect()
  })

  /** A claimed job, its appender, and the number of script calls made on its connection. */
  async function claimed() {
    redis ??= (await connectRedis()) as Redis
    const options = resolveQueueOptions(
      {},
      { llm: { concurrency: 1, maxQueued: 10, eventRetentionMs: 60_000 } as never, redis: { keyPrefix: prefix, commandTimeoutMs: 2000 } },
    )
    const keys = queueKeys(options)
    const store = createJobStore(keys, options)
    const job = scriptedJob({})
    expect(await store.create(redis, job)).toBe(true)
    const claim = await store.claim(redis, job.id, 'owner-1')
    expect(claim.state).toBe('fresh')
    let calls = 0
    const counted = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop === 'evalsha' || prop === 'eval')
          return (...args: unknown[]) => (calls++, (target[prop] as (...a: unknown[]) => unknown)(...args))
        return Reflect.get(target, prop, receiver)
      },
    })
    const out = createEventAppender({
      connection: counted,
      store,
      logger: createLogger('silent'),
      job,
      owner: 'owner-1',
      seq: claim.seq,
      silent: false,
      abort: new AbortController(),
    })
    const stream = async () => {
      const entries = (await redis.xrange(keys.events(job.id), '-', '+')) as [string, string[]][]
      return entries.map(([id, fields]) => decodeEntry(job.id, id, fields))
    }
    const state = async () => parseState(await redis.hgetall(keys.job(job.id)))
    return { out, calls: () => calls, stream, state }
  }

  test('deltas still waiting go in one call with the done event', async () => {
    const { out, calls, stream, state } = await claimed()
    for (const text of ['a', 'b', 'c']) await out.send({ type: 'delta', text })
    expect(
      await out.write({ type: 'done', messageId: 'm1', usage: { inputTokens: 1, outputTokens: 3 } }, { status: 'done', messageId: 'm1' }),
    ).toBe(4)
    expect(calls()).toBe(1)
    const events = await stream()
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'delta'],
      [2, 'delta'],
      [3, 'delta'],
      [4, 'done'],
    ])
    expect(events.slice(0, 3).map((e) => (e as { text: string }).text)).toEqual(['a', 'b', 'c'])
    expect(await state()).toMatchObject({ status: 'done', messageId: 'm1', seq: 4, ended: true })
  })

  test('with a call in flight, the deltas after it go with the final event, in order', async () => {
    const { out, calls, stream, state } = await claimed()
    await out.send({ type: 'delta', text: 'a' })
    // Let the first call leave (it waits one turn of the event loop), then queue two more.
    await new Promise((r) => setImmediate(r))
    await out.send({ type: 'delta', text: 'b' })
    await out.send({ type: 'delta', text: 'c' })
    const r = await out.write({ type: 'error', code: 'UPSTREAM_ERROR', message: 'the provider failed' }, { status: 'failed' })
    expect(r).toBe(4)
    expect(calls()).toBe(2)
    expect((await stream()).map((e) => [e.seq, e.type === 'delta' ? (e as { text: string }).text : e.type])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'error'],
    ])
    expect(await state()).toMatchObject({ status: 'failed', seq: 4, ended: true })
  })

  test('a final event with nothing waiting is one call of its own; a stream already ended records the status only', async () => {
    const { out, calls, stream, state } = await claimed()
    expect(await out.write({ type: 'error', code: 'WORKER_LOST', message: 'lost' }, { status: '' })).toBe(1)
    expect(calls()).toBe(1)
    expect(await state()).toMatchObject({ status: 'running', ended: true, seq: 1 })
    // The silent rerun's done: nothing more in the stream, the status and message recorded.
    out.quiet()
    expect(
      await out.write({ type: 'done', messageId: 'm2', usage: { inputTokens: 1, outputTokens: 1 } }, { status: 'done', messageId: 'm2' }),
    ).toBe('ended')
    expect((await stream()).map((e) => e.seq)).toEqual([1])
    expect(await state()).toMatchObject({ status: 'done', messageId: 'm2', ended: true })
  })
})

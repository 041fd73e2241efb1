/** The llm dispatch conformance suite on llm-queue: enqueue and relay through Redis, with an inline worker in this process. */
import { afterAll } from 'bun:test'
import { describeWith, redisMissing } from '../../helpers/services.ts'
import { llmDispatchSuite } from 'scale-runtime/testing'
import { connectRedis, dropKeys, uniquePrefix } from '../../redis/redis.ts'
import { makeQueueDispatch } from './helpers.ts'

const missing = await redisMissing()
const prefixes: string[] = []

describeWith('llm-queue conformance [redis]', missing, () => {
  afterAll(async () => {
    const redis = await connectRedis()
    for (const p of prefixes) await dropKeys(redis, p)
    redis.disconnect()
  })
  llmDispatchSuite('llm-queue (inline worker)', (limits) => {
    // A prefix per dispatch: each case starts with an empty queue.
    const prefix = uniquePrefix('llmq-conf')
    prefixes.push(prefix)
    return makeQueueDispatch(prefix, {
      worker: 'inline',
      concurrency: limits.concurrency,
      maxQueued: limits.maxQueued,
      eventRetention: limits.eventRetentionMs,
      drainTimeout: '300 ms',
    })
  })
})

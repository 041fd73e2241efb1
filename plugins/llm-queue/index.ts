/**
 * `llm-queue`: the llm dispatch slot on BullMQ and Redis. Api instances enqueue reply jobs
 * and relay their events; workers (`npm run worker`, scaled on their own) call the LLM. See
 * README.md beside this file for the options, the failure policy and the keys.
 */
import type { ScalePlugin } from 'scale-runtime/plugin'
import { createQueueDispatch, type QueueDispatch } from './dispatch.ts'
import { resolveQueueOptions, type LlmQueueOptions } from './options.ts'

export { createQueueDispatch, type QueueDispatch, type QueueDispatchDeps } from './dispatch.ts'
export { queueKeys, resolveQueueOptions, type LlmQueueOptions, type ResolvedQueueOptions } from './options.ts'

/**
 * The plugin for `config/scale.ts`. Uses the core's Redis (`REDIS_URL`, key prefix) and opens
 * the connections BullMQ and the event reader need of their own; closes them on stop.
 *
 * @default worker 'none', concurrency llm.concurrency, maxQueued llm.maxQueued, eventRetention
 * llm.eventRetention, lockDuration '30 s', stalledInterval '30 s', maxStalledCount 2,
 * drainTimeout '30 s', retry { attempts: 3, backoff: '1 s' }, priorities { paid: 1, free: 2 }
 * @example
 * import llmQueue from '../plugins/llm-queue/index.ts'
 * plugins: [sessionRedis(), rateLimitRedis(), llmQueue({ worker: 'none', concurrency: 16 })]
 * // then, on the worker machines: SCALE_CONFIG=config/scale.ts npm run worker
 */
export default function llmQueue(options: LlmQueueOptions = {}): ScalePlugin {
  let dispatch: QueueDispatch | undefined
  return {
    // Read by `npm run cli -- doctor` (provider quotas against the tiers).
    options,
    manifest: { name: 'llm-queue', core: '^0.1.0', provides: ['llmDispatch'], requires: { services: ['redis', 'postgres'] } },
    setup(ctx) {
      dispatch = createQueueDispatch({
        options: resolveQueueOptions(options, ctx.config),
        command: ctx.redis!,
        open: (name, overrides) => ctx.redisConnection!(name, overrides),
        logger: ctx.logger.child({ plugin: 'llm-queue' }),
        metrics: ctx.metrics,
      })
      return { slots: { llmDispatch: dispatch } }
    },
    health: () => dispatch?.health() ?? 'ok',
    // The core stops the slot before the plugins; this only makes an early stop safe.
    stop: () => dispatch?.stop(),
  }
}

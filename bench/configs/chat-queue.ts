/**
 * The chat scenarios with replies on llm-queue (`--chat-dispatch llm-queue`): the api instance
 * enqueues on Redis and relays each job's events from its Redis stream; a worker process
 * (`core/worker.ts`, started beside it with the same config) runs the replies. The rest is
 * `chat.ts`. REDIS_URL and REDIS_KEY_PREFIX come from the bench.
 */
import llmQueue from '../../plugins/llm-queue/index.ts'
import { benchConfig } from './base.ts'

export default benchConfig({
  llm: { provider: 'fake', fakeTokenDelay: 0, concurrency: 1000, maxQueued: 10_000 },
  plugins: [llmQueue({ worker: 'none', concurrency: 1000, maxQueued: 10_000 })],
})

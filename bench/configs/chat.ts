/**
 * The chat scenarios (`chat-latency`, `chat-streams`): the fake provider with no delay between
 * tokens, so what is measured is the runtime's own path (frames, job dispatch, event fan-out,
 * the two message writes per turn), and reply jobs sized for 1,000 streams at once on one
 * instance: 1,000 runners (the default is 32) and 10,000 waiting (the default is 1,000).
 * Chat limits come from `base.ts` (far above any load), so one user can send every turn.
 */
import { benchConfig } from './base.ts'

export default benchConfig({
  llm: { provider: 'fake', fakeTokenDelay: 0, concurrency: 1000, maxQueued: 10_000 },
})

/** The reply runner: once the assistant message is stored, the job ends with done, whatever the session store does. */
import { expect, test } from 'bun:test'
import { createReplyRunner } from '../../core/chat/runner.ts'
import { createMemorySessionStore } from '../../core/defaults/memory-session.ts'
import { ScaleError } from '../../core/errors.ts'
import { createFakeProvider } from '../../core/llm/index.ts'
import type { RunnerEvent } from '../../core/ports/llm-dispatch.ts'
import type { ConversationService } from '../../core/services/conversations.ts'
import { createLogger } from '../../core/observability/logger.ts'

test('a session store that fails after the message is stored (Redis paused) still ends the job with done for that message', async () => {
  const stored: { id: string; content: string }[] = []
  const conversations = {
    async addMessage(_user: string, _conv: string, m: { content: string }) {
      const row = { id: crypto.randomUUID(), content: m.content }
      stored.push(row)
      return row
    },
  } as unknown as ConversationService
  const memory = createMemorySessionStore()
  const unavailable = () => Promise.reject(new ScaleError('UNAVAILABLE', 'the session store did not answer in 500 ms'))
  const session = { ...memory, appendTurns: unavailable, releaseLock: unavailable }
  const run = createReplyRunner({
    provider: createFakeProvider({ tokenDelayMs: 0 }),
    conversations,
    session,
    bufferTurns: 20,
    lockTtlMs: 30_000,
    logger: createLogger('silent'),
  })
  const events: RunnerEvent[] = []
  const job = {
    id: crypto.randomUUID(),
    userId: 'u',
    tier: 'free' as const,
    conversationId: 'c',
    userMessageId: 'm',
    messages: [{ role: 'user' as const, content: 'hello' }],
    maxTokens: 64,
    createdAt: Date.now(),
    lock: { key: 'k', token: 't' },
  }
  for await (const ev of run(job, new AbortController().signal)) events.push(ev)
  expect(stored).toHaveLength(1)
  expect(events.at(-1)).toMatchObject({ type: 'done', messageId: stored[0]!.id })
})

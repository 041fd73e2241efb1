/**
 * The reply job runner the llm dispatch calls, wherever the job runs: streams the provider,
 * stores the assistant message once (keyed by the job id), updates the conversation buffer,
 * and releases the conversation's reply lock however the job ends. Once the message is
 * stored the job ends with `done`: the buffer and the lock are best effort after that, so the
 * job's state, its stream and the conversation never disagree (a Redis outage at that moment
 * costs the buffer that turn, so the next reply's context may lack it; never the reply).
 */
import type { Logger } from 'pino'
import type { LlmProvider } from '../llm/provider.ts'
import type { JobRunner, RunnerEvent, Usage } from '../ports/llm-dispatch.ts'
import type { SessionStore } from '../ports/session.ts'
import type { ConversationService } from '../services/conversations.ts'

/** How often a running reply extends its conversation lock. */
const EXTEND_EVERY_MS = 15_000

export interface RunnerDeps {
  provider: LlmProvider
  conversations: ConversationService
  session: SessionStore
  bufferTurns: number
  lockTtlMs: number
  /** Where a failed buffer update is reported. */
  logger?: Logger
}

export function createReplyRunner({ provider, conversations, session, bufferTurns, lockTtlMs, logger }: RunnerDeps): JobRunner {
  return async function* run(job, signal): AsyncGenerator<RunnerEvent> {
    let text = ''
    let usage: Usage = { inputTokens: 0, outputTokens: 0 }
    let extendedAt = Date.now()
    try {
      for await (const ev of provider.stream({ system: job.system, messages: job.messages, maxTokens: job.maxTokens }, signal)) {
        if (ev.type === 'usage') {
          usage = { inputTokens: ev.inputTokens, outputTokens: ev.outputTokens }
          continue
        }
        text += ev.text
        yield { type: 'delta', text: ev.text }
        if (job.lock && Date.now() - extendedAt > EXTEND_EVERY_MS) {
          extendedAt = Date.now()
          await session.extendLock(job.lock.key, job.lock.token, lockTtlMs)
        }
      }
      const message = await conversations.addMessage(job.userId, job.conversationId, {
        role: 'assistant',
        content: text,
        jobId: job.id,
        usage,
      })
      await session
        .appendTurns(job.conversationId, [{ role: 'assistant', content: message.content }], bufferTurns)
        .catch((err: Error) => logger?.warn({ err: err.message, jobId: job.id }, 'reply stored; the conversation buffer was not updated'))
      yield { type: 'done', messageId: message.id, usage }
    } finally {
      if (job.lock) await session.releaseLock(job.lock.key, job.lock.token).catch(() => false)
    }
  }
}

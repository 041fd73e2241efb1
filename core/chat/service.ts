/**
 * Chat turns: store the user's message, build the context, submit the reply job; and the
 * job read, events and cancel operations, each limited to the job's owner. A send's answer
 * is its 202 (kept as the first answer of its idempotency key, shared by HTTP and
 * WebSocket); the rest are in the domain's terms and the routes choose statuses.
 */
import type { Logger } from 'pino'
import type { ResolvedConfig } from '../config/resolved.ts'
import { conflict, notFound } from '../errors.ts'
import type { JobEvent, JobInfo, JobStatus, LlmDispatch } from '../ports/llm-dispatch.ts'
import type { SessionStore } from '../ports/session.ts'
import type { ConversationService, MessageView } from '../services/conversations.ts'
import { fingerprintOf, keyedId, type IdempotencyService, type KeyedRequest, type StoredAnswer } from '../services/idempotency.ts'
import type { Principal } from '../services/tokens.ts'
import { contextFor } from './context.ts'

export interface ChatDeps {
  config: ResolvedConfig
  session: SessionStore
  dispatch: LlmDispatch
  conversations: ConversationService
  idempotency: IdempotencyService
  /** Where a first answer that could not be stored is reported. */
  logger?: Logger
}

/** What a send made: the stored user message and the reply job it started. */
export interface Sent {
  message: MessageView
  job: { id: string; status: JobStatus }
}

/**
 * The keyed request of a send, for the first-answer store: a repeat of the same send (same
 * conversation, same content) gets the first answer; the key with other content in this
 * conversation is IDEMPOTENCY_KEY_REUSED; in another conversation it is another key. The
 * HTTP `Idempotency-Key` and the WebSocket `clientId` share it.
 */
export function sendRequest(user: Principal, conversationId: string, content: string, key: string | undefined): KeyedRequest | undefined {
  if (key === undefined) return undefined
  return { userId: user.userId, scope: `send:${conversationId}`, key, fingerprint: fingerprintOf({ content }) }
}

/** How long a conversation's reply lock lives unless the running job extends it. */
export const lockTtl = (config: ResolvedConfig) => config.llm.timeoutMs + 60_000

/** The conversation's reply lock. The owner is part of the key, so nobody else can hold it. */
const lockKey = (userId: string, conversationId: string) => `reply:${userId}:${conversationId}`

export function createChatService({ config, session, dispatch, conversations, idempotency, logger }: ChatDeps) {
  const ttl = lockTtl(config)

  /**
   * First answers on their way to the store. The answer goes to the client without waiting
   * for its row: the conversation's lock is held until the reply ends, so no other send with
   * the key can store first, and a repeat here meanwhile is given the answer from this map.
   * (A repeat on another instance within those milliseconds is refused with 409, as one that
   * races its first attempt always may be; it gets the answer once stored.) A row that could
   * not be stored is logged: a repeat then starts a second reply, as it would have had the
   * error reached the client.
   */
  const storing = new Map<string, Promise<StoredAnswer>>()
  function store(r: KeyedRequest, answer: StoredAnswer<Sent>) {
    const k = keyedId(r)
    const put = idempotency
      .put(r, answer)
      .catch((err: Error) => {
        logger?.warn({ err: err.message, scope: r.scope }, 'a send was answered; its idempotency key was not stored')
        return answer
      })
      .finally(() => storing.delete(k))
    storing.set(k, put)
  }

  async function owned(user: Principal, jobId: string): Promise<JobInfo> {
    const info = await dispatch.get(jobId)
    if (!info || info.userId !== user.userId) throw notFound('job')
    return info
  }

  return {
    /**
     * Store `content` as the user's message and start the reply: the 202 answer. CONFLICT
     * while another reply runs in the conversation. With a `key` (the HTTP Idempotency-Key,
     * the WebSocket clientId), the first answer to the same send is stored and a repeat gets
     * it, also while that reply still runs; the key with other content is
     * IDEMPOTENCY_KEY_REUSED. The stored answer is read by the statement that stores the
     * message, and the answer is stored without holding up the reply (see `storing`), so a
     * keyed send costs one statement more than one without a key, and no wait.
     */
    async send(user: Principal, conversationId: string, content: string, key?: string): Promise<StoredAnswer<Sent>> {
      const keyed = sendRequest(user, conversationId, content, key)
      const lock = lockKey(user.userId, conversationId)
      const token = await session.acquireLock(lock, ttl)
      if (!token) {
        const first = keyed && ((await (storing.get(keyedId(keyed)) ?? idempotency.get(keyed))) as StoredAnswer<Sent> | undefined)
        if (first) return first
        throw conflict('a reply is already being generated in this conversation; wait for it to finish or cancel it')
      }
      let submitted = false
      try {
        const turn = { role: 'user' as const, content }
        // The buffer first: when it is cold, the statement that stores the message also reads
        // the messages before it, so the context costs no second statement.
        const buffer = await session.getBuffer(conversationId)
        const cold = !buffer || buffer.turns.length === 0
        const earlier = cold ? config.llm.bufferTurns - 1 : 0
        const added = await conversations.addTurn(user.userId, conversationId, turn, { unless: keyed, earlier })
        if ('answered' in added) return added.answered as StoredAnswer<Sent>
        const { message } = added
        const ctx = await contextFor(session, conversationId, buffer, turn, added.earlier ?? [], config.llm.bufferTurns, config.llm.system)
        const job = await dispatch.submit({
          id: crypto.randomUUID(),
          userId: user.userId,
          tier: user.tier,
          conversationId,
          userMessageId: message.id,
          messages: ctx.messages,
          system: ctx.system,
          maxTokens: config.tiers[user.tier].maxTokens,
          lock: { key: lock, token },
          createdAt: Date.now(),
        })
        submitted = true
        const answer = { status: 202, body: { message, job: { id: job.id, status: job.status } } }
        if (keyed) store(keyed, answer)
        return answer
      } finally {
        // Once submitted, the job owns the lock and releases it when it ends.
        if (!submitted) await session.releaseLock(lock, token).catch(() => false)
      }
    },

    async job(user: Principal, jobId: string) {
      const info = await owned(user, jobId)
      return { id: info.id, status: info.status, conversationId: info.conversationId, messageId: info.messageId, position: info.position }
    },

    /** Check the job is the user's (NOT_FOUND otherwise), then hand out a way to read its events. */
    async openEvents(user: Principal, jobId: string): Promise<(afterSeq: number, signal: AbortSignal) => AsyncIterable<JobEvent>> {
      await owned(user, jobId)
      return (afterSeq, signal) => dispatch.events(jobId, afterSeq, signal)
    },

    async cancel(user: Principal, jobId: string): Promise<void> {
      await owned(user, jobId)
      await dispatch.cancel(jobId)
    },
  }
}

export type ChatService = ReturnType<typeof createChatService>

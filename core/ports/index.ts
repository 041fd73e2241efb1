/** The slots: one interface per capability, each with a default and optional plugins. */
import type { Cache } from './cache.ts'
import type { DbPool } from './db-pool.ts'
import type { DbRouter } from './db-router.ts'
import type { LlmDispatch } from './llm-dispatch.ts'
import type { RateLimiter } from './rate-limiter.ts'
import type { SessionStore } from './session.ts'

export interface Slots {
  session: SessionStore
  rateLimit: RateLimiter
  cache: Cache
  dbPool: DbPool
  llmDispatch: LlmDispatch
  dbRouter: DbRouter
}

export type SlotName = keyof Slots

export const SLOT_NAMES: readonly SlotName[] = [
  'session',
  'rateLimit',
  'cache',
  'dbPool',
  'llmDispatch',
  'dbRouter',
]

/**
 * Slots whose default keeps state in one process, and the plugin that shares it between
 * instances. A config declaring more than one instance refuses to start while any of these
 * is still on its default.
 */
export const PROCESS_LOCAL_DEFAULTS: Partial<Record<SlotName, string>> = {
  session: 'session-redis',
  rateLimit: 'ratelimit-redis',
  cache: 'cache',
  llmDispatch: 'llm-queue',
}

export type * from './cache.ts'
export type * from './db-pool.ts'
export type * from './db-router.ts'
export type * from './llm-dispatch.ts'
export type * from './rate-limiter.ts'
export type * from './session.ts'

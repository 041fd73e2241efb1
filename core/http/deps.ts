/** What route modules are built from: the config, the slots and the services. */
import type { ChatService } from '../chat/service.ts'
import type { ResolvedConfig } from '../config/resolved.ts'
import type { HttpMetrics } from '../observability/metrics.ts'
import type { Slots } from '../ports/index.ts'
import type { ConversationService } from '../services/conversations.ts'
import type { SyncService } from '../services/sync.ts'
import type { TokenService } from '../services/tokens.ts'
import type { UserService } from '../services/users.ts'
import type { Logger } from 'pino'
import type { LlmProvider } from '../llm/provider.ts'
import type { Drain } from './drain.ts'
import type { Access } from './access.ts'
import type { Guard } from './guard.ts'

export interface HealthReport {
  status: 'ready' | 'not_ready' | 'draining'
  checks: Record<string, string>
}

export interface AppDeps {
  config: ResolvedConfig
  logger: Logger
  metrics: HttpMetrics
  slots: Slots
  tokens: TokenService
  users: UserService
  conversations: ConversationService
  sync: SyncService
  chat: ChatService
  /** Authentication and limits for every channel (access.ts). */
  access: Access
  guard: Guard
  /** The configured LLM provider (replies run through `slots.llmDispatch`; the gateway calls it directly). */
  provider: LlmProvider
  health(): Promise<HealthReport>
  /** Set once shutdown begins. */
  drain: Drain
}

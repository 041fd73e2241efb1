/** What route modules are built from: the config, the slots and the services. */
import type { ResolvedConfig } from '../config/define.ts'
import type { HttpMetrics } from '../observability/metrics.ts'
import type { Slots } from '../ports/index.ts'
import type { ConversationService } from '../services/conversations.ts'
import type { SyncService } from '../services/sync.ts'
import type { TokenService } from '../services/tokens.ts'
import type { UserService } from '../services/users.ts'
import type { Logger } from 'pino'
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
  guard: Guard
  health(): Promise<HealthReport>
}

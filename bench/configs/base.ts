/** What every bench config shares: the shipped defaults, plus limits the load can never reach and the no-op route. */
import { defineScale, type ScaleConfig } from '../../core/config/define.ts'
import noopRoute from '../plugins/noop-route.ts'

// Limits far above what any run sends (a few million requests a minute at most), so the
// load never meets a 429 and what is measured is the cost of checking the limit.
const HIGH = 1_000_000_000
// maxSockets at the schema's ceiling: the chat scenarios hold thousands of sockets for one user.
const tier = { requestsPerMinute: { api: HIGH, sync: HIGH }, chatPerMinute: HIGH, maxTokens: 4096, maxSockets: 100_000 }

/** The bench config with `overrides` on top. Port, host and database come from the environment (PORT, HOST, DATABASE_URL). */
export function benchConfig(overrides: ScaleConfig = {}): ScaleConfig {
  const { plugins = [], ...rest } = overrides
  return defineScale({
    server: { hostname: '127.0.0.1' },
    // Embedded and in memory unless DATABASE_URL is set (the data scenario sets it): the
    // pipeline and health routes never touch the database.
    database: { dataDir: 'memory://' },
    // Fixed so no warning is logged and tokens verify the same way in every run.
    auth: { jwtSecret: 'bench-secret-bench-secret-bench-secret-0000' },
    tiers: { free: tier, paid: tier },
    anonymous: { requestsPerMinute: HIGH },
    ...rest,
    plugins: [noopRoute(), ...plugins],
  })
}

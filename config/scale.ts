/**
 * The one file a team edits. Plugins switch on the pieces that let many instances share
 * state; everything left out runs on its in-memory or in-process default. Environment
 * variables overlay what is written here (see README: Configuration).
 */
import { defineScale } from '../core/config/define.ts'

export default defineScale({
  // How many api instances run with this config. Above 1, start-up refuses any slot left
  // on a process-local default and names the plugin that fixes it.
  instances: 1,

  server: { port: 3000, bodyLimit: 1024 * 1024, trustedProxyHops: 0 },

  // Without DATABASE_URL the database is embedded (PGlite) in dataDir.
  database: { dataDir: './data', migrate: true, pool: { max: 10 } },

  // Without ANTHROPIC_API_KEY the offline `fake` provider answers.
  llm: { model: 'claude-sonnet-4-6', concurrency: 32 },

  tiers: {
    free: { requestsPerMinute: { api: 600, sync: 120 }, chatPerMinute: 20, maxTokens: 1024 },
    paid: { requestsPerMinute: { api: 3000, sync: 600 }, chatPerMinute: 100, maxTokens: 4096 },
  },
  anonymous: { requestsPerMinute: 60 },

  // The six plugins of this repository, each imported from plugins/<name>/index.ts (see
  // config/examples/cluster.ts, which uses them all): sessionRedis, rateLimitRedis and cache
  // (slots shared over Redis), llmQueue (replies on worker processes), poolTuner (pool sizes
  // from the server's budget) and replicaRouter (reads on replicas). Packages work too:
  // ['scale-plugin-audit-log', { path: './data/audit.log' }].
  plugins: [],
})

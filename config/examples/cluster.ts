/**
 * Several api instances behind a load balancer: PostgreSQL and Redis hold the shared state,
 * the Redis plugins fill the session, rate-limit and cache slots, and llm-queue sends replies to
 * worker processes (`SCALE_CONFIG=config/examples/cluster.ts npm run worker`). Select it with
 * `SCALE_CONFIG=config/examples/cluster.ts`; it needs DATABASE_URL, REDIS_URL and JWT_SECRET
 * (start-up refuses without them and says which is missing); DATABASE_REPLICA_URLS adds read
 * replicas. See README: Running several instances.
 */
import { defineScale } from '../../core/config/define.ts'
import cache from '../../plugins/cache/index.ts'
import llmQueue from '../../plugins/llm-queue/index.ts'
import poolTuner from '../../plugins/pool-tuner/index.ts'
import rateLimitRedis from '../../plugins/ratelimit-redis/index.ts'
import replicaRouter from '../../plugins/replica-router/index.ts'
import sessionRedis from '../../plugins/session-redis/index.ts'

/**
 * llm-queue's options, named so that the deployment files can be checked against them (a
 * worker's termination grace period must cover drainTimeout). A killed worker's jobs run
 * again elsewhere once their lock expires and a stalled check sees it: a 5 s lock renewed
 * every 2.5 s and a 2 s check bring that from about a minute down to under 10 s, for one
 * Redis call per running job every 2.5 s.
 */
export const llmQueueOptions = {
  worker: 'none',
  concurrency: 32,
  drainTimeout: '30 s',
  lockDuration: '5 s',
  stalledInterval: '2 s',
} as const

export default defineScale({
  instances: 2,

  // One load balancer in front: the client's address is the right-most X-Forwarded-For entry.
  // Set 0 if clients can reach the instances directly (they could then pick their address).
  // On SIGTERM an instance keeps answering for drainDelay (each answer closing its connection,
  // so the load balancer's next request opens a new one), then stops listening and lets
  // in-flight requests finish within shutdownTimeout; sockets are closed with 1012 to resume
  // elsewhere. The Kubernetes grace period and compose's stop_grace_period are checked
  // against the two.
  server: { port: 3000, trustedProxyHops: 1, drainDelay: '3 s', shutdownTimeout: '10 s' },

  // DATABASE_URL (PostgreSQL) is required with several instances: the embedded one is per
  // process. pool.max is each process's ceiling: pool-tuner (below) sets the size under it.
  database: { migrate: true, pool: { max: 10 } },

  // REDIS_URL selects the server (redis://, rediss://, redis-sentinel://, redis-cluster://).
  redis: { keyPrefix: 'scale:', commandTimeout: '500 ms' },

  tiers: {
    free: { requestsPerMinute: { api: 600, sync: 120 }, chatPerMinute: 20, maxTokens: 1024 },
    paid: { requestsPerMinute: { api: 3000, sync: 600 }, chatPerMinute: 100, maxTokens: 4096 },
  },
  anonymous: { requestsPerMinute: 60 },

  // How long each kind of read stays cached (a write invalidates it at once on every instance).
  cache: { ttl: { user: '1 m', conversations: '2 m', conversation: '1 m', messages: '1 m' } },

  plugins: [
    // readAhead: replica-router reads its write marks from the session on every read, so
    // the session comes in the same round trip as the rate-limit check.
    sessionRedis({ ttl: '1 d', readAhead: true }),
    // While Redis is unreachable or slow, each instance limits on its own (up to 2x the
    // limit across both) and goes back to Redis by itself when it answers again. Other
    // policies: 'open', 'closed' (503), also per route group (plugins/ratelimit-redis/README.md).
    rateLimitRedis({ fallback: 'local' }),
    // L1 in each process in front of Redis; invalidations reach every instance, and while
    // Redis is unreachable reads go to the database. plugins/cache/README.md has the guarantees.
    cache({ l1MaxEntries: 10_000, l1MaxBytes: 64 * 1024 * 1024 }),
    // Api instances only enqueue replies and relay their events; `npm run worker` processes
    // (as many as the LLM traffic needs) call the provider, `concurrency` jobs each.
    // plugins/llm-queue/README.md has the failure policy and the other options.
    llmQueue(llmQueueOptions),
    // With DATABASE_REPLICA_URLS (comma-separated), reads go to those streaming replicas and
    // each user still reads their own writes (their WAL position is kept in the session, so
    // this comes after sessionRedis()). Without it, every query stays on DATABASE_URL.
    ...(process.env.DATABASE_REPLICA_URLS ? [replicaRouter({ maxLag: '1 s' })] : []),
    // Each process (api instances and workers) sizes its pool, up to database.pool.max, to its
    // share of the server's max_connections (minus 5 left free) among the live processes, and
    // each replica's pool against that replica's own. plugins/pool-tuner/README.md.
    poolTuner({ headroom: 5 }),
  ],
})

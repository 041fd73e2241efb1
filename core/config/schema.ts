/**
 * The shape of `config/scale.ts`, as a TypeBox schema: one source for the TypeScript
 * types, the start-up validation and the "what would be valid" part of its errors.
 */
import { Type as T, type Static } from '@sinclair/typebox'
import { durationSchema } from '../duration.ts'

const duration = durationSchema

const positiveInt = (description: string, max = 1_000_000_000) =>
  T.Integer({ minimum: 1, maximum: max, description: `${description}: an integer from 1 to ${max}` })

const SlotName = T.Union(
  ['session', 'rateLimit', 'cache', 'dbPool', 'llmDispatch', 'dbRouter'].map((s) => T.Literal(s)),
  { description: 'a slot name: session, rateLimit, cache, dbPool, llmDispatch or dbRouter' },
)

/** One duration per kind of cached read (user, conversations, conversation, messages). */
const cacheKinds = (description: string) =>
  T.Object(
    {
      user: T.Optional(duration(`${description}: a user's profile and tier (GET /v1/me)`)),
      conversations: T.Optional(duration(`${description}: a page of the conversation list`)),
      conversation: T.Optional(duration(`${description}: one conversation`)),
      messages: T.Optional(duration(`${description}: a page of a conversation's messages`)),
    },
    { additionalProperties: false },
  )

export const TierLimits = T.Object(
  {
    requestsPerMinute: T.Object(
      {
        api: positiveInt('requests per minute on the api route group'),
        sync: positiveInt('requests per minute on the sync route group'),
      },
      { additionalProperties: false },
    ),
    chatPerMinute: positiveInt('chat messages per minute'),
    maxTokens: positiveInt('maximum tokens in one reply', 1_000_000),
    maxSockets: T.Optional(positiveInt('WebSocket connections one user may hold open on one instance', 100_000)),
  },
  { additionalProperties: false },
)

export const ConfigSchema = T.Object(
  {
    instances: T.Optional(positiveInt('the number of api instances this config runs as', 10_000)),
    allowInMemory: T.Optional(T.Array(SlotName, { description: 'slots knowingly left process-local with several instances' })),
    server: T.Optional(
      T.Object(
        {
          port: T.Optional(T.Integer({ minimum: 0, maximum: 65535, description: 'a TCP port from 0 to 65535' })),
          hostname: T.Optional(T.String({ minLength: 1, description: 'an address to listen on, such as 0.0.0.0' })),
          bodyLimit: T.Optional(positiveInt('the largest request body in bytes')),
          trustedProxyHops: T.Optional(T.Integer({ minimum: 0, maximum: 10, description: 'an integer from 0 to 10' })),
          shutdownTimeout: T.Optional(duration('how long shutdown waits for in-flight requests')),
          drainDelay: T.Optional(duration('how long a draining instance keeps answering before it stops listening')),
          allowedOrigins: T.Optional(
            T.Array(T.String(), { description: "a list of origins, such as ['https://app.example.com'], or ['*']" }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    database: T.Optional(
      T.Object(
        {
          url: T.Optional(T.String({ pattern: '^postgres(ql)?://', description: 'a postgres:// or postgresql:// URL' })),
          dataDir: T.Optional(T.String({ minLength: 1, description: "a folder for the embedded database, or 'memory://'" })),
          migrate: T.Optional(T.Boolean({ description: 'true or false' })),
          statementTimeout: T.Optional(duration('the longest one SQL statement may run on PostgreSQL (0 for no limit)')),
          slowQuery: T.Optional(duration('statements slower than this are logged (0 logs every one)')),
          pooler: T.Optional(
            T.Union([T.Literal('none'), T.Literal('session'), T.Literal('transaction')], {
              description: "'none', 'session' or 'transaction' (PgBouncer or Supavisor in transaction mode: no prepared statements)",
            }),
          ),
          pool: T.Optional(
            T.Object(
              {
                max: T.Optional(positiveInt('connections in the pool', 1000)),
                pipeline: T.Optional(positiveInt('queries sent on one connection at once (postgres.js pipelining)', 100)),
                acquireTimeout: T.Optional(duration('how long a query waits for a connection')),
                slowQuery: T.Optional(duration('queries slower than this are logged (older spelling of database.slowQuery)')),
                idleTimeout: T.Optional(duration('how long an unused connection stays open')),
                maxLifetime: T.Optional(duration('how long a connection lives before it is replaced')),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    redis: T.Optional(
      T.Object(
        {
          url: T.Optional(T.String({ pattern: '^(redis|rediss|redis-sentinel|redis-cluster)://', description: 'a redis:// URL' })),
          keyPrefix: T.Optional(T.String({ description: 'a key prefix such as "scale:"' })),
          commandTimeout: T.Optional(duration('the longest a Redis command may take')),
        },
        { additionalProperties: false },
      ),
    ),
    cache: T.Optional(
      T.Object(
        {
          ttl: T.Optional(cacheKinds('how long a cached read stays fresh')),
          staleFor: T.Optional(cacheKinds('how long past its TTL a value may be served while one refresh runs (0: never)')),
        },
        { additionalProperties: false },
      ),
    ),
    auth: T.Optional(
      T.Object(
        {
          jwtSecret: T.Optional(T.String({ minLength: 32, description: 'a secret of at least 32 characters' })),
          issuer: T.Optional(T.String({ minLength: 1, description: 'a non-empty string' })),
          audience: T.Optional(T.String({ minLength: 1, description: 'a non-empty string' })),
          tokenTtl: T.Optional(duration('how long an access token is valid')),
          tokenCacheSize: T.Optional(
            T.Integer({ minimum: 0, maximum: 10_000_000, description: 'verified tokens remembered (0 turns it off)' }),
          ),
          revocationCheck: T.Optional(duration('how long a user is known active before it is asked again (disabled or deleted users)')),
        },
        { additionalProperties: false },
      ),
    ),
    llm: T.Optional(
      T.Object(
        {
          provider: T.Optional(T.Union([T.Literal('anthropic'), T.Literal('fake')], { description: "'anthropic' or 'fake'" })),
          apiKey: T.Optional(T.String({ minLength: 1, description: 'an Anthropic API key' })),
          baseURL: T.Optional(T.String({ pattern: '^https?://', description: 'an http(s) URL' })),
          model: T.Optional(T.String({ minLength: 1, description: 'a model name' })),
          timeout: T.Optional(duration('the longest one provider call may take')),
          maxRetries: T.Optional(T.Integer({ minimum: 0, maximum: 10, description: 'an integer from 0 to 10' })),
          fakeTokenDelay: T.Optional(duration('the fake provider’s delay between tokens')),
          concurrency: T.Optional(positiveInt('replies generated at once per process', 10_000)),
          maxQueued: T.Optional(positiveInt('replies waiting in line before new ones are refused', 1_000_000)),
          eventRetention: T.Optional(duration('how long a finished job’s events stay readable')),
          system: T.Optional(T.String({ description: 'a system prompt' })),
          bufferTurns: T.Optional(positiveInt('turns kept in the conversation buffer', 1000)),
        },
        { additionalProperties: false },
      ),
    ),
    websocket: T.Optional(
      T.Object(
        {
          idleTimeout: T.Optional(duration('how long a silent socket stays open (the server pings before closing)')),
          maxFrameBytes: T.Optional(positiveInt('the largest client frame in bytes (bigger ones close the socket with 1009)')),
          maxBufferedBytes: T.Optional(positiveInt('bytes queued for a slow client before its stream pauses')),
          slowClientTimeout: T.Optional(duration('how long what is sent to a client may stay unread before the socket is closed with 4008')),
        },
        { additionalProperties: false },
      ),
    ),
    tiers: T.Optional(T.Object({ free: TierLimits, paid: TierLimits }, { additionalProperties: false })),
    anonymous: T.Optional(
      T.Object({ requestsPerMinute: positiveInt('requests per minute per client address') }, { additionalProperties: false }),
    ),
    logging: T.Optional(
      T.Object(
        {
          level: T.Optional(
            T.Union(
              ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map((l) => T.Literal(l)),
              {
                description: 'one of trace, debug, info, warn, error, fatal, silent',
              },
            ),
          ),
          requests: T.Optional(T.Boolean({ description: 'true or false' })),
        },
        { additionalProperties: false },
      ),
    ),
    metrics: T.Optional(T.Object({ enabled: T.Optional(T.Boolean({ description: 'true or false' })) }, { additionalProperties: false })),
    console: T.Optional(T.Object({ enabled: T.Optional(T.Boolean({ description: 'true or false' })) }, { additionalProperties: false })),
    plugins: T.Optional(T.Array(T.Unknown(), { description: 'a list of plugins, package names or [name, options] pairs' })),
  },
  { additionalProperties: false },
)

export type ConfigInput = Static<typeof ConfigSchema>
export type TierLimits = Static<typeof TierLimits>

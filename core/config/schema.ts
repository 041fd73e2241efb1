/**
 * The shape of `config/scale.ts`, as a TypeBox schema: one source for the TypeScript types
 * (what a config file may say, `ConfigInput`, and what the runtime makes of it,
 * `ResolvedConfig`), the start-up validation, the "what would be valid" part of its errors,
 * and each key's default. A new key is written here once; `resolveConfig` (load.ts) fills in
 * its default and turns a duration into ms under `<key>Ms`.
 */
import { OptionalKind, Type as T, type Static, type TObject, type TOptional, type TProperties, type TSchema } from '@sinclair/typebox'
import { durationSchema, type Duration } from '../duration.ts'

/** Marks a duration key at run time (resolved to ms as `<key>Ms`). */
export const DURATION = Symbol.for('scale-runtime.config.duration')
declare const isDuration: unique symbol
declare const hasDefault: unique symbol
type DurationKey = TOptional<ReturnType<typeof durationSchema>> & { readonly [isDuration]: true }
type Defaulted<S extends TSchema> = TOptional<S> & { readonly [hasDefault]: true }

/** An optional key with the value it takes when left out. */
function key<S extends TSchema>(schema: S, value: Static<S>): Defaulted<S> {
  return T.Optional({ ...schema, default: value }) as Defaulted<S>
}

/** An optional duration key, in the resolved config as `<key>Ms`; without a default it stays optional there. */
function duration(description: string): DurationKey
function duration(description: string, value: Duration): DurationKey & { readonly [hasDefault]: true }
function duration(description: string, value?: Duration): DurationKey {
  const schema = durationSchema(description)
  return Object.assign(T.Optional(value === undefined ? schema : { ...schema, default: value }), {
    [DURATION]: true,
  }) as unknown as DurationKey
}

const positiveInt = (description: string, max = 1_000_000_000) =>
  T.Integer({ minimum: 1, maximum: max, description: `${description}: an integer from 1 to ${max}` })

const bool = T.Boolean({ description: 'true or false' })

const SlotName = T.Union(
  ['session', 'rateLimit', 'cache', 'dbPool', 'llmDispatch', 'dbRouter'].map((s) => T.Literal(s)),
  { description: 'a slot name: session, rateLimit, cache, dbPool, llmDispatch or dbRouter' },
)

/** Kinds of cached reads, each with its own TTL (`cache.ttl`). */
export type CacheKind = 'user' | 'conversations' | 'conversation' | 'messages'
export const CACHE_KINDS: readonly CacheKind[] = ['user', 'conversations', 'conversation', 'messages']

/** One duration per kind of cached read (user, conversations, conversation, messages), each with its default. */
const cacheKinds = (description: string, value: Record<CacheKind, Duration>) =>
  T.Object(
    {
      user: duration(`${description}: a user's profile and tier (GET /v1/me)`, value.user),
      conversations: duration(`${description}: a page of the conversation list`, value.conversations),
      conversation: duration(`${description}: one conversation`, value.conversation),
      messages: duration(`${description}: a page of a conversation's messages`, value.messages),
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
    instances: key(positiveInt('the number of api instances this config runs as', 10_000), 1),
    allowInMemory: key(T.Array(SlotName, { description: 'slots knowingly left process-local with several instances' }), []),
    server: T.Optional(
      T.Object(
        {
          port: key(T.Integer({ minimum: 0, maximum: 65535, description: 'a TCP port from 0 to 65535' }), 3000),
          hostname: key(T.String({ minLength: 1, description: 'an address to listen on, such as 0.0.0.0' }), '0.0.0.0'),
          bodyLimit: key(positiveInt('the largest request body in bytes'), 1024 * 1024),
          trustedProxyHops: key(T.Integer({ minimum: 0, maximum: 10, description: 'an integer from 0 to 10' }), 0),
          shutdownTimeout: duration('how long shutdown waits for in-flight requests', 10_000),
          drainDelay: duration('how long a draining instance keeps answering before it stops listening', 0),
          allowedOrigins: key(T.Array(T.String(), { description: "a list of origins, such as ['https://app.example.com'], or ['*']" }), [
            '*',
          ]),
        },
        { additionalProperties: false },
      ),
    ),
    database: T.Optional(
      T.Object(
        {
          url: T.Optional(T.String({ pattern: '^postgres(ql)?://', description: 'a postgres:// or postgresql:// URL' })),
          dataDir: key(T.String({ minLength: 1, description: "a folder for the embedded database, or 'memory://'" }), './data'),
          migrate: key(bool, true),
          statementTimeout: duration('the longest one SQL statement may run on PostgreSQL (0 for no limit)', 30_000),
          slowQuery: duration('statements slower than this are logged (0 logs every one)', 100),
          /** `transaction`: a transaction-mode pooler sits in front (no prepared statements, no session state). */
          pooler: key(
            T.Union([T.Literal('none'), T.Literal('session'), T.Literal('transaction')], {
              description: "'none', 'session' or 'transaction' (PgBouncer or Supavisor in transaction mode: no prepared statements)",
            }),
            'none',
          ),
          pool: T.Optional(
            T.Object(
              {
                max: key(positiveInt('connections in the pool', 1000), 10),
                pipeline: key(positiveInt('queries sent on one connection at once (postgres.js pipelining)', 100), 4),
                acquireTimeout: duration('how long a query waits for a connection', 5_000),
                slowQuery: duration('queries slower than this are logged (older spelling of database.slowQuery)'),
                idleTimeout: duration('how long an unused connection stays open', 60_000),
                maxLifetime: duration('how long a connection lives before it is replaced', 3_600_000),
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
          keyPrefix: key(T.String({ description: 'a key prefix such as "scale:"' }), 'scale:'),
          commandTimeout: duration('the longest a Redis command may take', 500),
        },
        { additionalProperties: false },
      ),
    ),
    cache: T.Optional(
      T.Object(
        {
          // Profile and tier 1 min, the list 2 min, one conversation 1 min, a page of messages 1 min.
          ttl: T.Optional(
            cacheKinds('how long a cached read stays fresh', { user: '1 m', conversations: '2 m', conversation: '1 m', messages: '1 m' }),
          ),
          staleFor: T.Optional(
            cacheKinds('how long past its TTL a value may be served while one refresh runs (0: never)', {
              user: 0,
              conversations: 0,
              conversation: 0,
              messages: 0,
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    auth: T.Optional(
      T.Object(
        {
          jwtSecret: T.Optional(T.String({ minLength: 32, description: 'a secret of at least 32 characters' })),
          issuer: key(T.String({ minLength: 1, description: 'a non-empty string' }), 'scale-runtime'),
          audience: key(T.String({ minLength: 1, description: 'a non-empty string' }), 'scale-runtime-api'),
          tokenTtl: duration('how long an access token is valid', 3_600_000),
          tokenCacheSize: key(
            T.Integer({ minimum: 0, maximum: 10_000_000, description: 'verified tokens remembered (0 turns it off)' }),
            10_000,
          ),
          revocationCheck: duration('how long a user is known active before it is asked again (disabled or deleted users)', 5_000),
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
          model: key(T.String({ minLength: 1, description: 'a model name' }), 'claude-sonnet-4-6'),
          timeout: duration('the longest one provider call may take', 60_000),
          maxRetries: key(T.Integer({ minimum: 0, maximum: 10, description: 'an integer from 0 to 10' }), 2),
          fakeTokenDelay: duration('the fake provider’s delay between tokens', 20),
          concurrency: key(positiveInt('replies generated at once per process', 10_000), 32),
          maxQueued: key(positiveInt('replies waiting in line before new ones are refused', 1_000_000), 1000),
          eventRetention: duration('how long a finished job’s events stay readable', 600_000),
          system: T.Optional(T.String({ description: 'a system prompt' })),
          bufferTurns: key(positiveInt('turns kept in the conversation buffer', 1000), 20),
        },
        { additionalProperties: false },
      ),
    ),
    websocket: T.Optional(
      T.Object(
        {
          idleTimeout: duration('how long a silent socket stays open (the server pings before closing)', 60_000),
          maxFrameBytes: key(positiveInt('the largest client frame in bytes (bigger ones close the socket with 1009)'), 64 * 1024),
          maxBufferedBytes: key(positiveInt('bytes queued for a slow client before its stream pauses'), 1024 * 1024),
          slowClientTimeout: duration('how long what is sent to a client may stay unread before the socket is closed with 4008', 30_000),
        },
        { additionalProperties: false },
      ),
    ),
    tiers: T.Optional(T.Object({ free: TierLimits, paid: TierLimits }, { additionalProperties: false })),
    anonymous: T.Optional(
      T.Object({ requestsPerMinute: key(positiveInt('requests per minute per client address'), 60) }, { additionalProperties: false }),
    ),
    logging: T.Optional(
      T.Object(
        {
          level: key(
            T.Union(
              ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].map((l) => T.Literal(l)),
              { description: 'one of trace, debug, info, warn, error, fatal, silent' },
            ),
            'info',
          ),
          requests: key(bool, true),
        },
        { additionalProperties: false },
      ),
    ),
    metrics: T.Optional(T.Object({ enabled: key(bool, true) }, { additionalProperties: false })),
    /** `/console` and `/v1/admin/status`; the default (on for one instance, off above) is set in `resolveConfig`. */
    console: T.Optional(T.Object({ enabled: T.Optional(bool) }, { additionalProperties: false })),
    plugins: T.Optional(T.Array(T.Unknown(), { description: 'a list of plugins, package names or [name, options] pairs' })),
  },
  { additionalProperties: false },
)

export type ConfigInput = Static<typeof ConfigSchema>
export type TierLimits = Static<typeof TierLimits>

/** Whether a key is always there once resolved: a section, or a key with a default. */
type Present<S> = S extends TObject
  ? true
  : S extends { readonly [hasDefault]: true }
    ? true
    : S extends { [OptionalKind]: 'Optional' }
      ? false
      : true
type NameOf<K, S> = S extends { readonly [isDuration]: true } ? `${K & string}Ms` : K
type Flat<O> = { [K in keyof O]: O[K] }
type ResolvedObject<P extends TProperties> = Flat<
  { [K in keyof P as Present<P[K]> extends true ? NameOf<K, P[K]> : never]: Resolved<P[K]> } & {
    [K in keyof P as Present<P[K]> extends true ? never : NameOf<K, P[K]>]?: Resolved<P[K]>
  }
>

/** What `resolveConfig` makes of a part of the schema: every section present, defaults filled in, durations in ms under `<key>Ms`. */
export type Resolved<S> = S extends { readonly [isDuration]: true }
  ? number
  : S extends TObject<infer P>
    ? ResolvedObject<P>
    : S extends TSchema
      ? Static<S>
      : never

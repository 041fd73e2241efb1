/**
 * The database schema (Drizzle, pg-core). Migrations under core/db/migrations are
 * generated from this file by `npm run db:generate` and committed.
 */
import { sql } from 'drizzle-orm'
import { bigserial, customType, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

/** PostgreSQL's 64-bit transaction id; read as a decimal string. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' })

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull()
const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull()

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey(),
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    tier: text('tier', { enum: ['free', 'paid'] })
      .notNull()
      .default('free'),
    /** `admin` may read `/v1/admin/status`; set by an operator (`npm run cli -- set-role`), never by the user. */
    role: text('role', { enum: ['user', 'admin'] })
      .notNull()
      .default('user'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Set by an operator (`npm run cli -- disable-user`): the user's tokens stop working. */
    disabledAt: timestamp('disabled_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email)],
)

export const conversations = pgTable(
  'conversations',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    title: text('title').notNull().default(''),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  // The list query: a user's live conversations, newest first.
  (t) => [
    index('conversations_user_recent_idx')
      .on(t.userId, t.updatedAt.desc(), t.id.desc())
      .where(sql`${t.deletedAt} is null`),
  ],
)

export const messages = pgTable(
  'messages',
  {
    id: uuid('id').primaryKey(),
    /** Insertion order; messages list oldest first by it. */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull(),
    role: text('role', { enum: ['user', 'assistant'] }).notNull(),
    content: text('content').notNull(),
    /** The reply job that wrote this assistant message: at most one message per job. */
    jobId: uuid('job_id'),
    usage: jsonb('usage').$type<{ inputTokens: number; outputTokens: number }>(),
    createdAt: createdAt(),
  },
  (t) => [index('messages_conversation_seq_idx').on(t.conversationId, t.seq), uniqueIndex('messages_job_id_key').on(t.jobId)],
)

/**
 * The change log delta sync reads. Every write to a user's conversations or messages adds
 * a row in the same transaction; `xid` is the writing transaction's id, which is what lets
 * a reader tell "committed" from "maybe still in flight" (see services/sync.ts).
 */
export const changes = pgTable(
  'changes',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    xid: xid8('xid')
      .notNull()
      .default(sql`pg_current_xact_id()`),
    userId: uuid('user_id').notNull(),
    entity: text('entity', { enum: ['conversation', 'message'] }).notNull(),
    entityId: uuid('entity_id').notNull(),
    op: text('op', { enum: ['upsert', 'delete'] }).notNull(),
  },
  (t) => [index('changes_user_xid_seq_idx').on(t.userId, t.xid, t.seq)],
)

/**
 * First answers to chat sends with an idempotency key (`Idempotency-Key` over HTTP, `clientId`
 * over WebSocket), replayed for repeats. A key counts within its user and scope (the
 * operation and its target, e.g. `send:<conversationId>`); `fingerprint` is a hash of the
 * request, so the same key with another request is refused instead of answered.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: uuid('user_id').notNull(),
    scope: text('scope').notNull().default(''),
    key: text('key').notNull(),
    fingerprint: text('fingerprint').notNull().default(''),
    status: integer('status').notNull(),
    body: jsonb('body').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.scope, t.key] })],
)

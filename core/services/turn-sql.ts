/**
 * The statements that store a chat turn's messages: one (`addMessageStatement`), or many at
 * once (`addTurnsStatement`, what the messages of concurrent turns are batched into).
 * Each touches the live conversation, inserts the message and its two change rows; for a
 * keyed send it first reads the answer stored for the key, and for a cold conversation buffer
 * it returns the messages before the new one.
 */
import { sql } from 'drizzle-orm'
import type { KeyedRequest } from './idempotency.ts'

/** What the add-message statement returns (timestamps as the driver reads them: Date or string). */
export interface AddedRow {
  id: string
  conversationId: string
  role: 'user' | 'assistant'
  content: string
  createdAt: Date | string
}

/** The first answer stored for a keyed request, as the add-message statement reads it. */
export type AnswerColumns = { answerStatus: number | null; answerBody: unknown; answerFingerprint: string | null; earlier: unknown }

/** A turn as the add-message statement returns earlier messages. */
export interface StoredTurn {
  role: 'user' | 'assistant'
  content: string
}

/**
 * Touch the live conversation, insert the message (at most one per `jobId`) and its two change
 * rows, in one statement: the conversation update gates the insert, the insert gates the change
 * rows. Returns the message, or no row when the conversation is not live or the job's message
 * exists already (the caller tells which).
 *
 * With `unless` (a keyed send), the same statement first reads the answer stored for that
 * request, and writes nothing when there is one: one row comes back either way, with the
 * message columns or the answer's (both null: the conversation is not live). With `earlier`,
 * it also returns that many of the conversation's messages before this one (role and
 * content, oldest first), for a reply whose conversation buffer is cold.
 */
export function addMessageStatement(userId: string, conversationId: string, msg: MessageInput, unless?: KeyedRequest, earlier = 0) {
  const now = new Date().toISOString()
  // The conversation's messages before this one (the statement's snapshot does not see it), for a cold buffer.
  const history = earlier
    ? sql`, (select coalesce(json_agg(json_build_object('role', e.role, 'content', e.content) order by e.seq), '[]'::json)
        from (select role, content, seq from messages where conversation_id = ${conversationId}::uuid and user_id = ${userId}::uuid
          order by seq desc limit ${earlier}::int) e) as "earlier"`
    : sql``
  const first = unless
    ? sql`k as (
      select status, body, fingerprint from idempotency_keys
      where user_id = ${unless.userId}::uuid and scope = ${unless.scope}::text and key = ${unless.key}::text
    ), `
    : sql``
  return sql`with ${first}c as (
      update conversations set updated_at = ${now}::timestamptz
      where id = ${conversationId}::uuid and user_id = ${userId}::uuid and deleted_at is null${unless ? sql` and not exists (select 1 from k)` : sql``}
      returning id
    ), m as (
      insert into messages (id, conversation_id, user_id, role, content, job_id, usage, created_at)
      select ${crypto.randomUUID()}::uuid, c.id, ${userId}::uuid, ${msg.role}::text, ${msg.content}::text, ${msg.jobId ?? null}::uuid,
        ${msg.usage ? JSON.stringify(msg.usage) : null}::jsonb, ${now}::timestamptz
      from c
      on conflict (job_id) do nothing
      returning id, conversation_id, role, content, created_at
    ), ch as (
      insert into changes (user_id, entity, entity_id, op)
      select ${userId}::uuid, 'message', m.id, 'upsert' from m
      union all
      select ${userId}::uuid, 'conversation', m.conversation_id, 'upsert' from m
    )
    ${
      unless
        ? sql`select m.id, m.conversation_id as "conversationId", m.role, m.content, m.created_at as "createdAt",
        k.status as "answerStatus", k.body as "answerBody", k.fingerprint as "answerFingerprint"${history}
      from (select 1) one left join m on true left join k on true`
        : sql`select id, conversation_id as "conversationId", role, content, created_at as "createdAt"${history} from m`
    }`
}

/** One message to store, as a row of {@link addTurnsStatement}. */
export interface TurnInput {
  userId: string
  conversationId: string
  msg: MessageInput
  unless?: KeyedRequest
  earlier: number
}

/** A message to store: a user's, or a reply (at most one per `jobId`) with its usage. */
export interface MessageInput {
  role: 'user' | 'assistant'
  content: string
  jobId?: string
  usage?: { inputTokens: number; outputTokens: number }
}

/**
 * {@link addMessageStatement} for many messages (the user messages and replies of concurrent
 * chat turns) in one statement: the inputs go as one JSON array, and one row comes back per
 * input, in their order, with the columns the single statement returns for a keyed send (all
 * null: nothing was stored).
 */
export function addTurnsStatement(inputs: TurnInput[]) {
  const now = new Date().toISOString()
  const rows = inputs.map((t) => ({
    id: crypto.randomUUID(),
    conversation_id: t.conversationId,
    user_id: t.userId,
    role: t.msg.role,
    content: t.msg.content,
    job_id: t.msg.jobId ?? null,
    usage: t.msg.usage ?? null,
    scope: t.unless?.scope ?? null,
    key: t.unless?.key ?? null,
    earlier: t.earlier,
  }))
  return sql`with i as (
      select * from rows from (
        jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as (id uuid, conversation_id uuid, user_id uuid, role text, content text, job_id uuid, usage jsonb, scope text, key text, earlier int)
      ) with ordinality as t(id, conversation_id, user_id, role, content, job_id, usage, scope, key, earlier, n)
    ), k as (
      select i.n, x.status, x.body, x.fingerprint from i
      join idempotency_keys x on x.user_id = i.user_id and x.scope = i.scope and x.key = i.key
    ), c as (
      update conversations v set updated_at = ${now}::timestamptz
      from i
      where v.id = i.conversation_id and v.user_id = i.user_id and v.deleted_at is null
        and not exists (select 1 from k where k.n = i.n)
      returning v.id, v.user_id
    ), m as (
      insert into messages (id, conversation_id, user_id, role, content, job_id, usage, created_at)
      select i.id, i.conversation_id, i.user_id, i.role, i.content, i.job_id, i.usage, ${now}::timestamptz
      from i join c on c.id = i.conversation_id and c.user_id = i.user_id
      where not exists (select 1 from k where k.n = i.n)
      on conflict (job_id) do nothing
      returning id, conversation_id, role, content, created_at
    ), ch as (
      insert into changes (user_id, entity, entity_id, op)
      select i.user_id, 'message', i.id, 'upsert' from i join m on m.id = i.id
      union all
      select i.user_id, 'conversation', i.conversation_id, 'upsert' from i join m on m.id = i.id
    )
    select m.id, m.conversation_id as "conversationId", m.role, m.content, m.created_at as "createdAt",
      k.status as "answerStatus", k.body as "answerBody", k.fingerprint as "answerFingerprint",
      case when m.id is not null and i.earlier > 0 then (
        select coalesce(json_agg(json_build_object('role', e.role, 'content', e.content) order by e.seq), '[]'::json)
        from (select role, content, seq from messages where conversation_id = i.conversation_id and user_id = i.user_id
          order by seq desc limit i.earlier) e
      ) end as "earlier"
    from i left join m on m.id = i.id left join k on k.n = i.n
    order by i.n`
}

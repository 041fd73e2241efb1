/**
 * Delta sync over the change log.
 *
 * Why transaction ids and not timestamps or the log's serial: both are taken before commit,
 * so a slow transaction can commit a change numbered *below* one a reader already passed.
 * Instead each read takes the oldest transaction still in flight (`pg_snapshot_xmin` of the
 * current snapshot) as its horizon and returns only changes written by older transactions,
 * all of which have ended. Anything still in flight has an id at or above the horizon, so it
 * sorts after the returned cursor and comes in a later response. A long-open transaction
 * delays sync; it never makes it miss a change.
 */
import { and, eq, inArray, sql } from 'drizzle-orm'
import type { DbRouter } from '../ports/db-router.ts'
import { changes, conversations, messages } from '../db/schema.ts'
import { type ConversationView, type MessageView, conversationView, messageView } from './conversations.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'

export interface SyncPage {
  conversations: ConversationView[]
  messages: MessageView[]
  deleted: { type: 'conversation' | 'message'; id: string }[]
  cursor: string
  hasMore: boolean
}

export function createSyncService(router: DbRouter) {
  return {
    async pull(userId: string, limit: number, cursor?: string): Promise<SyncPage> {
      const [afterXid, afterSeq] = cursor ? decodeCursor<[string, number]>(cursor, ['xid', 'seq']) : ['0', 0]
      // Sync reads the primary: a replica's horizon would be its own, behind the primary's.
      const db = router.write()
      const rows = await db
        .select({
          seq: changes.seq,
          xid: sql<string>`${changes.xid}::text`,
          entity: changes.entity,
          entityId: changes.entityId,
          op: changes.op,
        })
        .from(changes)
        .where(
          and(
            eq(changes.userId, userId),
            sql`${changes.xid} < pg_snapshot_xmin(pg_current_snapshot())`,
            sql`(${changes.xid}, ${changes.seq}) > (${afterXid}::xid8, ${afterSeq}::bigint)`,
          ),
        )
        .orderBy(changes.xid, changes.seq)
        .limit(limit + 1)

      const page = rows.slice(0, limit)
      // The last change of each entity in this page decides what the client gets.
      const latest = new Map<string, (typeof page)[number]>()
      for (const r of page) latest.set(`${r.entity}:${r.entityId}`, r)
      const ids = (entity: 'conversation' | 'message') =>
        [...latest.values()].filter((r) => r.entity === entity && r.op === 'upsert').map((r) => r.entityId)

      const convIds = ids('conversation')
      const msgIds = ids('message')
      const [convRows, msgRows] = await Promise.all([
        convIds.length
          ? db
              .select()
              .from(conversations)
              .where(and(eq(conversations.userId, userId), inArray(conversations.id, convIds)))
          : [],
        msgIds.length
          ? db
              .select()
              .from(messages)
              .where(and(eq(messages.userId, userId), inArray(messages.id, msgIds)))
          : [],
      ])
      const deleted: SyncPage['deleted'] = [...latest.values()]
        .filter((r) => r.op === 'delete')
        .map((r) => ({ type: r.entity, id: r.entityId }))
      const liveConvs = convRows.filter((c) => {
        if (c.deletedAt) deleted.push({ type: 'conversation', id: c.id })
        return !c.deletedAt
      })
      const last = page.at(-1)
      return {
        conversations: liveConvs.map(conversationView),
        messages: msgRows.sort((a, b) => a.seq - b.seq).map(messageView),
        deleted,
        cursor: last ? encodeCursor([last.xid, last.seq]) : (cursor ?? encodeCursor(['0', 0])),
        hasMore: rows.length > limit,
      }
    },
  }
}

export type SyncService = ReturnType<typeof createSyncService>

/**
 * Reference for the data-cache scenario: bare Elysia with no database on the request path.
 * It reads the seeded user's first page of conversations once at start (the same SQL as
 * bare-elysia-pg.ts) and answers every request with that JSON, serialised per request as a
 * hand-written handler would.
 */
import { Elysia } from 'elysia'
import postgres from 'postgres'

const url = process.env.DATABASE_URL
const userId = process.env.BENCH_USER_ID
if (!url || !userId) throw new Error('DATABASE_URL and BENCH_USER_ID must be set')

const LIMIT = 20
const sql = postgres(url, { max: 1, onnotice: () => {} })
const rows = await sql<{ id: string; title: string; created_at: Date; updated_at: Date }[]>`
  select * from conversations where user_id = ${userId} and deleted_at is null
  order by updated_at desc, id desc limit ${LIMIT + 1}`
await sql.end()
const page = {
  items: rows
    .slice(0, LIMIT)
    .map((c) => ({ id: c.id, title: c.title, createdAt: c.created_at.toISOString(), updatedAt: c.updated_at.toISOString() })),
  nextCursor: rows.length > LIMIT ? 'more' : null,
}

new Elysia()
  .get('/v1/conversations', ({ request, set }) => {
    if (!/^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1]) {
      set.status = 401
      return { error: { code: 'UNAUTHORIZED', message: 'a bearer token is required' } }
    }
    return page
  })
  .listen({ port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' })

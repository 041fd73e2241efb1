/**
 * Reference for the data scenario: bare Elysia + postgres.js running the same SQL as
 * `ConversationService.list` for the first page (limit 20, so 21 rows asked to know if there
 * is a next page), with the same JSON out. The user comes from BENCH_USER_ID: the bearer
 * header is only checked to be there, not verified.
 */
import { Elysia } from 'elysia'
import postgres from 'postgres'

const url = process.env.DATABASE_URL
const userId = process.env.BENCH_USER_ID
if (!url || !userId) throw new Error('DATABASE_URL and BENCH_USER_ID must be set')

// The runtime's default pool size (database.pool.max), so both have the same connections to work with.
const sql = postgres(url, { max: 10, onnotice: () => {} })
const LIMIT = 20

interface Row {
  id: string
  title: string
  created_at: Date
  updated_at: Date
}

new Elysia()
  .get('/v1/conversations', async ({ request, set }) => {
    if (!/^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1]) {
      set.status = 401
      return { error: { code: 'UNAUTHORIZED', message: 'a bearer token is required' } }
    }
    const rows = await sql<Row[]>`
      select * from conversations
      where user_id = ${userId} and deleted_at is null
      order by updated_at desc, id desc
      limit ${LIMIT + 1}`
    const page = rows.slice(0, LIMIT)
    return {
      items: page.map((c) => ({ id: c.id, title: c.title, createdAt: c.created_at.toISOString(), updatedAt: c.updated_at.toISOString() })),
      // The seeded user has exactly one page, as in the runtime run; a cursor is never built here.
      nextCursor: rows.length > LIMIT ? 'more' : null,
    }
  })
  .listen({ port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' })

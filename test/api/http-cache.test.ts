/**
 * HTTP caching of the cached reads (memory cache slot): strong ETag, private no-cache, Vary
 * Authorization; a 304 on If-None-Match costs no database query while the entry is cached;
 * a write changes the ETag at once; one user's entry is never another's.
 */
import { expect, test } from 'bun:test'
import type { ScalePlugin } from '../../core/plugins/contract.ts'
import { client, describeEachDatabase } from '../helpers/runtime.ts'

/** Counts every database handle the services ask the router for: each is one query (or one transaction). */
const queries = { count: 0 }
const countingRouter: ScalePlugin = {
  manifest: { name: 'counting-router', core: '^0.1.0', provides: ['dbRouter'] },
  setup: (ctx) => ({
    slots: {
      dbRouter: {
        write: () => (queries.count++, ctx.db),
        read: () => (queries.count++, ctx.db),
        wrote: () => {},
      },
    },
  }),
}

describeEachDatabase(
  'HTTP caching of reads',
  (rt) => {
    const api = client(rt)

    test('the cached GET routes send a strong ETag, private no-cache and Vary Authorization; If-None-Match answers 304 without a query', async () => {
      const u = await api.user()
      const conv = (await api.post('/v1/conversations', { title: 'etag' }, u.token)).body.id as string
      const sent = await api.post(`/v1/conversations/${conv}/messages`, { content: 'hello' }, u.token)
      // The reply is stored in the background: let it finish, or its writes would be counted below.
      for (let i = 0; i < 200 && (await api.get(`/v1/jobs/${sent.body.job.id}`, u.token)).body.status !== 'done'; i++) await Bun.sleep(20)
      for (const path of ['/v1/me', '/v1/conversations', `/v1/conversations/${conv}`, `/v1/conversations/${conv}/messages`]) {
        const first = await api.get(path, u.token)
        expect(first.status).toBe(200)
        const etag = first.headers.get('etag')!
        expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/) // strong: no W/
        expect(first.headers.get('cache-control')).toBe('private, no-cache')
        expect(first.headers.get('vary')).toBe('Authorization')
        expect(first.headers.get('content-type')).toContain('application/json')
        expect(first.headers.get('ratelimit-limit')).not.toBeNull()

        queries.count = 0
        const again = await api.call('GET', path, { token: u.token, headers: { 'if-none-match': etag } })
        expect(again.status).toBe(304)
        expect(again.body).toBeUndefined()
        expect(again.headers.get('etag')).toBe(etag)
        expect(queries.count).toBe(0)

        const other = await api.call('GET', path, { token: u.token, headers: { 'if-none-match': '"something-else"' } })
        expect(other.status).toBe(200)
        expect(other.body).toEqual(first.body)
      }
    })

    test('a write changes the ETag at once and the next read is fresh', async () => {
      const u = await api.user()
      const conv = (await api.post('/v1/conversations', { title: 'before' }, u.token)).body.id as string
      const list = await api.get('/v1/conversations', u.token)
      const one = await api.get(`/v1/conversations/${conv}`, u.token)
      const msgs = await api.get(`/v1/conversations/${conv}/messages`, u.token)
      await api.patch(`/v1/conversations/${conv}`, { title: 'after' }, u.token)
      const one2 = await api.call('GET', `/v1/conversations/${conv}`, {
        token: u.token,
        headers: { 'if-none-match': one.headers.get('etag')! },
      })
      expect(one2.status).toBe(200)
      expect(one2.body.title).toBe('after')
      const list2 = await api.get('/v1/conversations', u.token)
      expect(list2.headers.get('etag')).not.toBe(list.headers.get('etag'))
      expect(list2.body.items[0].title).toBe('after')
      await api.post(`/v1/conversations/${conv}/messages`, { content: 'new message' }, u.token)
      const msgs2 = await api.get(`/v1/conversations/${conv}/messages`, u.token)
      expect(msgs2.headers.get('etag')).not.toBe(msgs.headers.get('etag'))
      expect(msgs2.body.items.some((m: { content: string }) => m.content === 'new message')).toBe(true)
      await api.del(`/v1/conversations/${conv}`, u.token)
      expect((await api.get(`/v1/conversations/${conv}`, u.token)).status).toBe(404)
      expect((await api.get(`/v1/conversations/${conv}/messages`, u.token)).status).toBe(404)
      expect((await api.get('/v1/conversations', u.token)).body.items).toEqual([])
    })

    test("one user's cached reads are never another's, and an ETag of one user is no 304 for another", async () => {
      const [u1, u2] = [await api.user(), await api.user()]
      const conv = (await api.post('/v1/conversations', { title: 'mine' }, u1.token)).body.id as string
      const me1 = await api.get('/v1/me', u1.token)
      const list1 = await api.get('/v1/conversations', u1.token)
      expect((await api.get(`/v1/conversations/${conv}`, u2.token)).status).toBe(404)
      const me2 = await api.call('GET', '/v1/me', { token: u2.token, headers: { 'if-none-match': me1.headers.get('etag')! } })
      expect(me2.status).toBe(200)
      expect(me2.body.id).toBe(u2.id)
      const list2 = await api.call('GET', '/v1/conversations', {
        token: u2.token,
        headers: { 'if-none-match': list1.headers.get('etag')! },
      })
      expect(list2.status).toBe(200)
      expect(list2.body.items).toEqual([])
    })

    test('If-None-Match lists and * are understood; the tier change of an operator shows on /v1/me at once', async () => {
      const u = await api.user()
      const me = await api.get('/v1/me', u.token)
      const etag = me.headers.get('etag')!
      expect((await api.call('GET', '/v1/me', { token: u.token, headers: { 'if-none-match': `"x", ${etag}` } })).status).toBe(304)
      expect((await api.call('GET', '/v1/me', { token: u.token, headers: { 'if-none-match': '*' } })).status).toBe(304)
      await rt().deps.users.setTier(u.email, 'paid')
      const after = await api.call('GET', '/v1/me', { token: u.token, headers: { 'if-none-match': etag } })
      expect(after.status).toBe(200)
      expect(after.body.tier).toBe('paid')
    })
  },
  { plugins: [countingRouter], llm: { provider: 'fake', fakeTokenDelay: 0 } },
)

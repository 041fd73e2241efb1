/**
 * The cluster through a real load balancer: `startCluster()` (what `npm run cluster` runs:
 * nginx, three api instances, two workers, a private Redis and PostgreSQL primary with a
 * streaming replica), the acceptance suite through nginx unchanged, then faults: an api
 * instance killed under a WebSocket stream, a rolling restart under steady traffic, and a
 * worker killed with replies in flight.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startCluster, type Cluster } from '../../deploy/local/cluster.ts'
import { nginxMissing } from '../../deploy/local/nginx.ts'
import { postgresServerMissing } from '../../deploy/local/postgres.ts'
import { redisServerMissing } from '../../deploy/local/redis.ts'
import { describeWith } from '../helpers/services.ts'
import { wsClient } from '../helpers/ws-client.ts'
import { acceptanceSuite, http } from './suite.ts'

const missing = nginxMissing() ?? postgresServerMissing() ?? redisServerMissing()
const CLUSTER_START = 240_000

let cluster: Cluster
const target = () => ({ url: cluster.url })
const api = http(target)

/** Open sockets per api instance, from each one's /metrics. */
async function socketsPerApi(): Promise<number[]> {
  return Promise.all(
    cluster.apis.map(async (a) => {
      const text = await fetch(`${a.url}/metrics`).then(
        (r) => r.text(),
        () => '',
      )
      return Number(/^websocket_connections (\d+)/m.exec(text)?.[1] ?? 0)
    }),
  )
}

describeWith('the cluster through nginx', missing, () => {
  beforeAll(async () => {
    cluster = await startCluster({ api: 3, workers: 2 })
  }, CLUSTER_START)
  afterAll(() => cluster?.stop(), CLUSTER_START)

  acceptanceSuite('cluster', target)

  describe('faults', () => {
    test('the api instance holding a WebSocket is killed: the client reconnects through nginx and resumes, no gap, no duplicate', async () => {
      const u = await api.register()
      const conv = await api.conversation(u.token)
      const wsUrl = `${cluster.url.replace(/^http/, 'ws')}/v1/ws?token=${u.token}`
      const a = wsClient(wsUrl)
      await a.opened
      a.send({ type: 'send', conversationId: conv, content: Array.from({ length: 60 }, (_, i) => `w${i}`).join(' '), clientId: 'k' })
      const { jobId } = await a.next((f) => f.type === 'accepted')
      await a.next((f) => f.jobId === jobId && f.seq === 5)
      const holder = (await socketsPerApi()).findIndex((n) => n > 0)
      expect(holder).toBeGreaterThanOrEqual(0)
      await cluster.apis[holder]!.kill()
      await a.closed()
      const have = a.jobEvents(jobId)
      const lastSeq = have.at(-1)!.seq
      const b = wsClient(wsUrl)
      await b.opened
      b.send({ type: 'resume', jobId, afterSeq: lastSeq })
      await b.next((f) => f.jobId === jobId && (f.type === 'done' || f.type === 'error'), 30_000)
      const all = [...have, ...b.jobEvents(jobId)]
      expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1))
      expect(all.at(-1)!.type).toBe('done')
      b.ws.close()
      await cluster.apis[holder]!.start()
    }, 120_000)

    test('a worker is killed with 100 replies in flight: every reply is done, one assistant message each, back within 10 s', async () => {
      const users = await Promise.all(Array.from({ length: 5 }, () => api.register()))
      const sends: { token: string; conv: string; jobId: string }[] = []
      const long = Array.from({ length: 80 }, (_, i) => `t${i}`).join(' ')
      for (const u of users) {
        const convs = await Promise.all(Array.from({ length: 20 }, () => api.conversation(u.token)))
        const rs = await Promise.all(convs.map((c) => api.call('POST', `/v1/conversations/${c}/messages`, { content: long }, u.token)))
        rs.forEach((r, i) => {
          expect(r.status).toBe(202)
          sends.push({ token: u.token, conv: convs[i]!, jobId: r.body.job.id })
        })
      }
      await Bun.sleep(500)
      const killedAt = Date.now()
      await cluster.workers[0]!.kill()
      const pending = new Set(sends.map((s) => s.jobId))
      const deadline = killedAt + 90_000
      while (pending.size && Date.now() < deadline) {
        for (const s of sends) {
          if (!pending.has(s.jobId)) continue
          const j = await api.call('GET', `/v1/jobs/${s.jobId}`, undefined, s.token)
          if (j.body?.status === 'done') pending.delete(s.jobId)
          else expect(['queued', 'running']).toContain(j.body?.status)
        }
        if (pending.size) await Bun.sleep(250)
      }
      const recoveryMs = Date.now() - killedAt
      console.log(`worker killed with ${sends.length} replies in flight: all done ${recoveryMs} ms after the kill`)
      expect(pending.size).toBe(0)
      expect(recoveryMs).toBeLessThan(10_000 + 20_000) // lock expiry + stalled check, then the replies themselves
      for (const s of sends) {
        const m = await api.call('GET', `/v1/conversations/${s.conv}/messages`, undefined, s.token)
        expect(m.body.items.map((x: { role: string }) => x.role)).toEqual(['user', 'assistant'])
      }
      await cluster.workers[0]!.start()
    }, 180_000)

    test('a rolling restart under steady traffic: no failed request at the client; sockets are closed with 1012 and resume', async () => {
      // 50 requests a second from one user would be over the free tier's 600 a minute: spread
      // them over eight users.
      const users = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const u = await api.register()
          return { ...u, conv: await api.conversation(u.token) }
        }),
      )
      const ws = wsClient(`${cluster.url.replace(/^http/, 'ws')}/v1/ws?token=${users[0]!.token}`)
      await ws.opened
      let stop = false
      const failures: string[] = []
      let sent = 0
      // 50 requests a second, mixed reads and writes, until the restart is over.
      const traffic = (async () => {
        while (!stop) {
          const i = sent++
          const { token, conv } = users[i % users.length]!
          const req =
            i % 5 === 0
              ? api.call('PATCH', `/v1/conversations/${conv}`, { title: `t${i}` }, token)
              : api.call('GET', i % 2 ? '/v1/conversations?limit=5' : `/v1/conversations/${conv}`, undefined, token)
          void req.then(
            (r) => r.status >= 400 && failures.push(`${r.status} ${JSON.stringify(r.body)}`),
            (e) => failures.push(String(e)),
          )
          await Bun.sleep(20)
        }
      })()
      for (const a of cluster.apis) {
        await a.term()
        await a.start()
      }
      stop = true
      await traffic
      await Bun.sleep(500)
      const closed = await ws.closed()
      console.log(`rolling restart: ${sent} requests, ${failures.length} failed`)
      expect(failures).toEqual([])
      expect(closed.code).toBe(1012)
      const again = wsClient(`${cluster.url.replace(/^http/, 'ws')}/v1/ws?token=${users[0]!.token}`)
      await again.opened
      again.send({ type: 'ping' })
      await again.next((f) => f.type === 'pong')
      again.ws.close()
    }, 240_000)
  })
})

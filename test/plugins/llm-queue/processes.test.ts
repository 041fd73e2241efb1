/**
 * llm-queue across processes: 2 api instances and 2 workers (`core/worker.ts`) on one
 * PostgreSQL and one Redis. A client moves between instances mid-reply and resumes with no
 * gap or duplicate; a worker killed with SIGKILL during ~100 replies loses none of them and
 * stores none twice; SIGTERM lets a worker finish what it runs.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import postgres from 'postgres'
import { describeWith, freshPostgresDatabase, postgresMissing, redisMissing } from '../../helpers/services.ts'
import { HOOK_TIMEOUT } from '../../helpers/runtime.ts'
import { keysUnder, uniquePrefix, useSharedRedis } from '../../redis/redis.ts'
import { call, clusterEnv, killAll, readSse, startApi, startWorker, userWith, wsClient, type Proc } from './processes.ts'

const missing = (await postgresMissing()) ?? (await redisMissing())
const prefix = uniquePrefix('llmq-procs')

describeWith('llm-queue: 2 api instances and 2 workers as processes [postgres, redis]', missing, () => {
  let a: Proc | undefined
  let b: Proc | undefined
  const workers: (Proc | undefined)[] = []
  let db: { url: string; drop(): Promise<void> } | undefined
  let env: Record<string, string>

  beforeAll(async () => {
    db = await freshPostgresDatabase()
    env = clusterEnv(db.url, prefix)
    try {
      a = await startApi(env) // A migrates the new database first
      ;[b, workers[0], workers[1]] = await Promise.all([startApi(env), startWorker(env), startWorker(env)])
    } catch (e) {
      await killAll([a, b, ...workers])
      throw e
    }
  }, HOOK_TIMEOUT)

  afterAll(async () => {
    try {
      for (const p of [a, b, ...workers]) if (p && p.proc.exitCode === null) p.proc.kill('SIGTERM')
      await Promise.race([Promise.all([a, b, ...workers].map((p) => p?.proc.exited)), Bun.sleep(15_000)])
    } finally {
      await killAll([a, b, ...workers])
      await db?.drop()
    }
  }, HOOK_TIMEOUT)
  // After the processes' hooks: their keys are dropped once they stopped.
  const shared = useSharedRedis(prefix)

  test('the api is ready and reports the live workers; a worker serves only health and metrics', async () => {
    const ready = await call(a!.base, 'GET', '/health/ready')
    expect(ready.status).toBe(200)
    expect(ready.body.checks['llm-queue']).toStartWith('ok: 2 workers (40 slots)')
    expect((await call(workers[0]!.base, 'GET', '/health/live')).status).toBe(200)
    expect((await fetch(`${workers[0]!.base}/v1/auth/login`, { method: 'POST' })).status).toBe(404)
    expect(await (await fetch(`${a!.base}/metrics`)).text()).toContain('llm_queue_workers 2')
  })

  test('a WebSocket client on A gets a reply run by a worker, moves to B mid-stream and resumes with no gap or duplicate', async () => {
    const u = await userWith(a!.base, 1)
    const onA = wsClient(`${a!.base.replace('http', 'ws')}/v1/ws?token=${u.token}`)
    await onA.opened
    onA.send({ type: 'send', conversationId: u.convs[0], content: 'tell me a long story about queues and workers', clientId: 'm1' })
    const { jobId } = await onA.next((f) => f.type === 'accepted')
    await onA.next((f) => f.jobId === jobId && f.seq === 4)
    onA.ws.close()
    await onA.closed()
    const seen = onA.jobEvents(jobId)
    expect(seen.every((f) => f.type === 'delta')).toBe(true)

    const onB = wsClient(`${b!.base.replace('http', 'ws')}/v1/ws?token=${u.token}`)
    await onB.opened
    onB.send({ type: 'resume', jobId, afterSeq: seen.at(-1)!.seq })
    const done = await onB.next((f) => f.jobId === jobId && f.type === 'done')
    const all = [...seen, ...onB.jobEvents(jobId)]
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1))
    expect(all.filter((e) => e.type === 'done')).toHaveLength(1)
    const text = all
      .filter((e) => e.type === 'delta')
      .map((e) => e.text)
      .join('')
    const messages = (await call(b!.base, 'GET', `/v1/conversations/${u.convs[0]}/messages`, undefined, u.token)).body.items
    expect(messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant'])
    expect(messages[1].content).toBe(text)
    expect(messages[1].id).toBe(done.messageId)
    onB.ws.close()
    // Neither api ran it: the workers did.
    const ran = await Promise.all(
      workers.map(
        async (w) => (await (await fetch(`${w!.base}/metrics`)).text()).match(/llm_queue_jobs_finished_total\{outcome="done"\} (\d+)/)?.[1],
      ),
    )
    expect(ran.reduce((n, x) => n + Number(x ?? 0), 0)).toBeGreaterThanOrEqual(1)
    // The job's keys expire; BullMQ's own queue keys are the only ones without a TTL.
    for (const k of await keysUnder(shared.redis, `${prefix}llmq:{${jobId}}`)) expect(await shared.redis.pttl(k)).toBeGreaterThan(0)
  }, 60_000)

  test('SIGKILL one worker during ~100 replies: none lost, none stored twice, every stream ends with done or a coded error', async () => {
    const users = await Promise.all([0, 1, 2, 3].map(() => userWith(a!.base, 25)))
    const sends = users.flatMap((u) => u.convs.map((conv) => ({ u, conv })))
    const streams = sends.map(async ({ u, conv }, i) => {
      const res = await fetch(`${(i % 2 ? a : b)!.base}/v1/conversations/${conv}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ content: `message number ${i} with a few more words to stream back` }),
      })
      return { status: res.status, jobId: res.headers.get('x-job-id'), events: await readSse(res), token: u.token }
    })
    // Kill the first worker while it runs replies, some of which have sent tokens.
    const victim = workers[0]!
    const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
    const deadline = Date.now() + 15_000
    let before = ''
    while (Date.now() < deadline) {
      before = await (await fetch(`${victim.base}/metrics`)).text()
      if (metric(before, 'llm_queue_jobs_finished_total\\{outcome="done"\\}') >= 1 && metric(before, 'llm_jobs_running') >= 5) break
      await Bun.sleep(20)
    }
    victim.proc.kill('SIGKILL')
    await victim.proc.exited
    expect(metric(before, 'llm_jobs_running')).toBeGreaterThanOrEqual(5)

    const results = await Promise.race([
      Promise.all(streams),
      Bun.sleep(45_000).then(() => {
        throw new Error('client streams did not all end within 45 s')
      }),
    ])
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200))
    const ends = results.map((r) => r.events.at(-1))
    for (const [i, r] of results.entries()) {
      expect(r.events.map((e) => e.seq)).toEqual(r.events.map((_, k) => k + 1))
      expect(['done', 'error']).toContain(ends[i]?.type)
      if (ends[i]?.type === 'error') expect(ends[i]?.code).toMatch(/^[A-Z_]+$/)
    }
    const lost = ends.filter((e) => e?.type === 'error').map((e) => e?.code)
    expect(lost.every((c) => c === 'WORKER_LOST')).toBe(true)

    // Every job ends done (those whose stream said WORKER_LOST were generated again), each stored once.
    const ids = results.map((r) => r.jobId!)
    const until = Date.now() + 30_000
    let statuses: string[] = []
    while (Date.now() < until) {
      statuses = await Promise.all(
        results.map(async (r) => (await call(a!.base, 'GET', `/v1/jobs/${r.jobId}`, undefined, r.token)).body.status),
      )
      if (statuses.every((s) => s === 'done')) break
      await Bun.sleep(250)
    }
    expect(statuses.filter((s) => s !== 'done')).toEqual([])
    const sql = postgres(db!.url, { max: 1, onnotice: () => {} })
    try {
      const rows = await sql<
        { job_id: string; n: number }[]
      >`select job_id::text, count(*)::int as n from messages where job_id = any(${ids}::uuid[]) group by job_id`
      expect(rows).toHaveLength(ids.length)
      expect(rows.filter((r) => r.n !== 1)).toEqual([])
      // Counted by conversation too, so a retry that stored a second reply without a job id shows.
      const convs = sends.map((s) => s.conv)
      const turns = await sql<{ conversation_id: string; users: number; assistants: number }[]>`
        select conversation_id::text,
               (count(*) filter (where role = 'user'))::int as users,
               (count(*) filter (where role = 'assistant'))::int as assistants
        from messages where conversation_id = any(${convs}::uuid[]) group by conversation_id`
      expect(turns).toHaveLength(convs.length)
      expect(turns.filter((t) => t.users !== 1 || t.assistants !== 1)).toEqual([])
    } finally {
      await sql.end()
    }
    // The survivor picked the lost jobs up again (BullMQ's stalled-job check).
    expect(workers[1]!.output()).toContain('a job whose worker was lost is picked up again')
    console.log(`SIGKILL test: ${ids.length} jobs, ${lost.length} streams ended with WORKER_LOST, all stored once`)
  }, 90_000)

  test('SIGTERM: a worker stops taking jobs and finishes the replies it runs', async () => {
    // A fresh worker, alone with the survivor from the previous test.
    workers[2] = await startWorker(env)
    const u = await userWith(a!.base, 6)
    const jobs = await Promise.all(
      u.convs.map(
        async (conv) =>
          (await call(a!.base, 'POST', `/v1/conversations/${conv}/messages`, { content: 'finish me please' }, u.token)).body.job
            .id as string,
      ),
    )
    await Bun.sleep(400)
    workers[2].proc.kill('SIGTERM')
    expect(await Promise.race([workers[2].proc.exited, Bun.sleep(20_000).then(() => 'still running')])).toBe(0)
    const until = Date.now() + 20_000
    let statuses: string[] = []
    while (Date.now() < until) {
      statuses = await Promise.all(jobs.map(async (id) => (await call(a!.base, 'GET', `/v1/jobs/${id}`, undefined, u.token)).body.status))
      if (statuses.every((s) => s === 'done')) break
      await Bun.sleep(200)
    }
    expect(statuses).toEqual(jobs.map(() => 'done'))
    expect(workers[2].output()).toContain('worker stopped')
  }, 60_000)
})

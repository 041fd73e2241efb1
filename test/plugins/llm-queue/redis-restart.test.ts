/**
 * Redis restarted while jobs are queued and running: on a private redis-server of the test's
 * own (AOF, fsync always, so a crash keeps what was written), never the shared one. Every job
 * completes once it is back, every stream is whole, and those that were waiting stream to done.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { JobEvent, JobRunner } from '../../../core/ports/llm-dispatch.ts'
import type { QueueDispatch } from '../../../plugins/llm-queue/dispatch.ts'
import { scriptedJob } from 'scale-runtime/testing'
import { describeWith } from '../../helpers/services.ts'
import { privateRedis, redisServerMissing, type PrivateRedis } from '../../redis/private-server.ts'
import { startApiAndWorker } from './helpers.ts'

const runner: JobRunner = async function* (job, signal) {
  for (let i = 1; i <= 5; i++) {
    await new Promise((r) => setTimeout(r, 40))
    if (signal.aborted) throw signal.reason
    yield { type: 'delta', text: `w${i} ` }
  }
  yield { type: 'done', messageId: `m-${job.id}`, usage: { inputTokens: 1, outputTokens: 5 } }
}

describeWith('llm-queue: Redis restarted while jobs wait [redis-server]', redisServerMissing(), () => {
  let redis: PrivateRedis
  let api: QueueDispatch | undefined
  let worker: QueueDispatch | undefined

  beforeAll(async () => {
    redis = await privateRedis({ durable: true })
  })
  afterAll(async () => {
    try {
      await api?.stop()
      await worker?.stop()
    } finally {
      await redis.remove()
    }
  }, 30_000)

  test('20 jobs, 2 at a time; Redis killed and started again: all complete, every stream whole', async () => {
    ;({ api, worker } = await startApiAndWorker('llmq-restart:', redis.url, runner, 2))
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push((await api.submit(scriptedJob({}))).id)
    await Bun.sleep(300)
    expect((await api.get(ids.at(-1)!))?.status).toBe('queued')

    // Which jobs still wait in line when Redis dies (the ones running may be judged lost).
    const before = await Promise.all(ids.map(async (id) => (await api!.get(id))?.status))
    await redis.kill()
    await Bun.sleep(1000)
    await redis.start()

    const collect = async (id: string) => {
      for (let tries = 0; ; tries++) {
        try {
          const out: JobEvent[] = []
          for await (const ev of api!.events(id, 0)) out.push(ev)
          return out
        } catch (e) {
          if (tries > 50) throw e
          await Bun.sleep(200) // the api's command connection is still coming back
        }
      }
    }
    const all = await Promise.race([
      Promise.all(ids.map(collect)),
      Bun.sleep(40_000).then(() => {
        throw new Error('jobs did not complete within 40 s of Redis coming back')
      }),
    ])
    // Compared whole, so a failure shows every job's seqs, end and status. A job that waited in
    // line ends with done; one running when Redis died may have been judged lost by BullMQ (its
    // lock could not be renewed) and then ends its stream with WORKER_LOST, yet still completes.
    const ends = all.map((events, i) => ({
      queued: before[i] === 'queued',
      seqs: events.map((e) => e.seq).join(','),
      end: events.at(-1)?.type === 'error' ? (events.at(-1) as { code: string }).code : events.at(-1)?.type,
    }))
    expect(ends).toEqual(
      all.map((events, i) => ({
        queued: before[i] === 'queued',
        seqs: events.map((_, k) => k + 1).join(','),
        end: before[i] === 'queued' ? 'done' : expect.stringMatching(/^(done|WORKER_LOST)$/),
      })),
    )
    expect(before.filter((s) => s === 'queued').length).toBeGreaterThanOrEqual(10)
    // A job that ended its stream with WORKER_LOST is still being generated again: wait for it.
    let statuses: (string | undefined)[] = []
    for (const end = Date.now() + 20_000; Date.now() < end; await Bun.sleep(100)) {
      statuses = await Promise.all(ids.map(async (id) => (await api!.get(id))?.status))
      if (statuses.every((s) => s === 'done')) break
    }
    expect(statuses).toEqual(ids.map(() => 'done'))
  }, 60_000)
})

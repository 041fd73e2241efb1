/**
 * llm-queue against its references, in one process on one Redis, with the fake provider at
 * 0 delay: enqueue → first delta (p50/p99) through llm-queue (inline worker) and through the
 * in-process dispatch; end-to-end jobs per second through llm-queue and through raw BullMQ
 * (Queue.add + a Worker that streams the same fake reply and writes nothing per token). For
 * the two jobs-per-second runs on Redis, also the CPU per job of this process and of the Redis
 * server (INFO cpu) and the script calls per job (INFO commandstats, EVALSHA), read before and
 * after each run: on a shared machine the CPU ratio is steadier than the rate's. Last, how long
 * raw BullMQ takes to start a burst of jobs already waiting (one Worker, then four in this
 * process, each job held until all have started): the floor under a burst relayed through BullMQ.
 *
 *   bun bench/llm-queue.ts [--latency 500] [--jobs 2000] [--concurrency 32] [--burst 1000]
 *
 * Redis: BENCH_REDIS_URL, else TEST_REDIS_URL, else 127.0.0.1:6379; keys under a fresh
 * prefix, removed at the end.
 */
import { parseArgs } from 'node:util'
import type { Redis } from 'ioredis'
import { createInProcessDispatch } from '../core/defaults/in-process-dispatch.ts'
import { createFakeProvider } from '../core/llm/fake.ts'
import { createLogger } from '../core/observability/logger.ts'
import type { JobRunner, LlmDispatch, ReplyJob } from '../core/ports/llm-dispatch.ts'
import { createQueueDispatch } from '../plugins/llm-queue/dispatch.ts'
import { resolveQueueOptions } from '../plugins/llm-queue/options.ts'
import { dropKeysUnder } from './redis-keys.ts'

const { values } = parseArgs({
  options: {
    latency: { type: 'string', default: '500' },
    jobs: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    burst: { type: 'string', default: '1000' },
  },
})
const LATENCY_N = Number(values.latency)
const JOBS = Number(values.jobs)
const CONCURRENCY = Number(values.concurrency)
const BURST = Number(values.burst)
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `bench:llmq:${Date.now().toString(36)}:`

const provider = createFakeProvider({ tokenDelayMs: 0 })
/** The core runner's provider part, without the database: the reply streamed, then done. */
const runner: JobRunner = async function* (job, signal) {
  let usage = { inputTokens: 0, outputTokens: 0 }
  for await (const ev of provider.stream({ messages: job.messages, maxTokens: job.maxTokens }, signal)) {
    if (ev.type === 'usage') usage = { inputTokens: ev.inputTokens, outputTokens: ev.outputTokens }
    else yield { type: 'delta', text: ev.text }
  }
  yield { type: 'done', messageId: `m-${job.id}`, usage }
}

const job = (i: number): ReplyJob => ({
  id: crypto.randomUUID(),
  userId: 'bench',
  tier: 'free',
  conversationId: 'bench',
  userMessageId: `u-${i}`,
  messages: [{ role: 'user', content: `benchmark message number ${i}` }],
  maxTokens: 256,
  createdAt: Date.now(),
})

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!

async function firstDelta(d: LlmDispatch, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const info = await d.submit(job(i))
    let first = 0
    for await (const ev of d.events(info.id, 0)) if (!first && ev.type === 'delta') first = performance.now() - t0
    out.push(first)
  }
  return out
}

async function jobsPerSecond(d: LlmDispatch, n: number): Promise<number> {
  const t0 = performance.now()
  let next = 0
  // `CONCURRENCY * 2` clients, each submitting and reading to the end, keep the workers busy.
  await Promise.all(
    Array.from({ length: CONCURRENCY * 2 }, async () => {
      while (next < n) {
        const info = await d.submit(job(next++))
        for await (const ev of d.events(info.id, 0)) if (ev.type !== 'delta') break
      }
    }),
  )
  return n / ((performance.now() - t0) / 1000)
}

async function rawBullmq(n: number): Promise<number> {
  const { Queue, Worker, QueueEvents } = await import('bullmq')
  const { Redis } = await import('ioredis')
  const conn = () => new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const name = 'raw'
  const queue = new Queue(name, { connection: conn(), prefix: `${PREFIX}raw` })
  // Each waitUntilFinished listens for the queue's close: one listener per client in flight.
  queue.setMaxListeners(CONCURRENCY * 2 + 10)
  const events = new QueueEvents(name, { connection: conn(), prefix: `${PREFIX}raw` })
  await events.waitUntilReady()
  const worker = new Worker(
    name,
    async (j) => {
      let text = ''
      for await (const ev of provider.stream({ messages: (j.data as ReplyJob).messages, maxTokens: 256 }, new AbortController().signal)) {
        if (ev.type === 'delta') text += ev.text
      }
      return text.length
    },
    { connection: conn(), prefix: `${PREFIX}raw`, concurrency: CONCURRENCY },
  )
  await worker.waitUntilReady()
  const t0 = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: CONCURRENCY * 2 }, async () => {
      while (next < n) {
        // Kept a while: a job removed the moment it completes can make waitUntilFinished fail ("Missing key").
        const j = await queue.add('reply', job(next++), { removeOnComplete: 1000 })
        await j.waitUntilFinished(events)
      }
    }),
  )
  const rate = n / ((performance.now() - t0) / 1000)
  await worker.close()
  await events.close()
  await queue.close()
  return rate
}

/**
 * ms from starting `workers` Workers (concurrency `n / workers` each) until all `n` jobs
 * waiting in the queue have started. BullMQ's Worker takes one job per round trip and awaits
 * it before the next, so this is `n` sequential fetches per Worker.
 */
async function burstStart(n: number, workers: number): Promise<number> {
  const { Queue, Worker } = await import('bullmq')
  const { Redis } = await import('ioredis')
  const conn = () => new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const name = `burst-${workers}`
  const queue = new Queue(name, { connection: conn(), prefix: `${PREFIX}burst` })
  await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'reply', data: { i } })))
  let started = 0
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  let allStarted!: () => void
  const all = new Promise<void>((r) => (allStarted = r))
  const pool = Array.from(
    { length: workers },
    () =>
      new Worker(
        name,
        async () => {
          if (++started === n) allStarted()
          await held
        },
        { connection: conn(), prefix: `${PREFIX}burst`, concurrency: Math.ceil(n / workers), autorun: false },
      ),
  )
  await Promise.all(pool.map((w) => w.waitUntilReady()))
  const t0 = performance.now()
  for (const w of pool) void w.run()
  await all
  const ms = performance.now() - t0
  release()
  await Promise.all(pool.map((w) => w.close()))
  await queue.close()
  return ms
}

interface Cost {
  rate: number
  /** µs of this process's CPU per job. */
  processUs: number
  /** µs of the Redis server's CPU per job. */
  redisUs: number
  scriptsPerJob: number
}

/** The Redis server's CPU seconds and EVALSHA calls so far. */
async function redisCounters(redis: Redis): Promise<{ cpu: number; scripts: number }> {
  const info = (await redis.info('cpu')) + (await redis.info('commandstats'))
  const num = (re: RegExp) => Number(re.exec(info)?.[1] ?? 0)
  return { cpu: num(/used_cpu_sys:([\d.]+)/) + num(/used_cpu_user:([\d.]+)/), scripts: num(/cmdstat_evalsha:calls=(\d+)/) }
}

/** `run` (which returns jobs per second for `n` jobs) with its CPU per job, here and on Redis. */
async function costOf(redis: Redis, n: number, run: () => Promise<number>): Promise<Cost> {
  const r0 = await redisCounters(redis)
  const p0 = process.cpuUsage()
  const rate = await run()
  const p = process.cpuUsage(p0)
  const r1 = await redisCounters(redis)
  return { rate, processUs: (p.user + p.system) / n, redisUs: ((r1.cpu - r0.cpu) * 1e6) / n, scriptsPerJob: (r1.scripts - r0.scripts) / n }
}

async function main() {
  const { Redis } = await import('ioredis')
  const command = new Redis(REDIS_URL, { commandTimeout: 2000, enableAutoPipelining: true })
  const queueDispatch = createQueueDispatch({
    options: resolveQueueOptions(
      { worker: 'inline', concurrency: CONCURRENCY, maxQueued: 1_000_000 },
      {
        llm: { concurrency: CONCURRENCY, maxQueued: 1_000_000, eventRetentionMs: 60_000 } as never,
        redis: { keyPrefix: PREFIX, commandTimeoutMs: 2000 },
      },
    ),
    command,
    open: (_n, o) => new Redis(REDIS_URL, { commandTimeout: 2000, ...o }),
    logger: createLogger('silent'),
  })
  await queueDispatch.start(runner)
  const inProcess = createInProcessDispatch({ concurrency: CONCURRENCY, maxQueued: 1_000_000 })
  await inProcess.start(runner)

  // Warm both paths (JIT, script cache, connections) before measuring.
  await firstDelta(queueDispatch, 50)
  await firstDelta(inProcess, 50)
  const lq = await firstDelta(queueDispatch, LATENCY_N)
  const ip = await firstDelta(inProcess, LATENCY_N)
  const lqCost = await costOf(command, JOBS, () => jobsPerSecond(queueDispatch, JOBS))
  const ipRate = await jobsPerSecond(inProcess, JOBS)
  const rawCost = await costOf(command, JOBS, () => rawBullmq(JOBS))
  await queueDispatch.stop()
  await inProcess.stop()
  const burstOne = await burstStart(BURST, 1)
  const burstFour = await burstStart(BURST, 4)

  const f = (x: number) => x.toFixed(2)
  console.log(`enqueue -> first delta, ${LATENCY_N} sequential jobs (ms)`)
  console.log(`  in-process dispatch   p50 ${f(pct(ip, 50))}  p99 ${f(pct(ip, 99))}`)
  console.log(`  llm-queue (inline)    p50 ${f(pct(lq, 50))}  p99 ${f(pct(lq, 99))}   (+${f(pct(lq, 50) - pct(ip, 50))} ms at p50)`)
  console.log(`jobs per second, ${JOBS} jobs, worker concurrency ${CONCURRENCY}`)
  console.log(`  llm-queue             ${lqCost.rate.toFixed(0)}`)
  console.log(`  raw BullMQ            ${rawCost.rate.toFixed(0)}   (llm-queue ${(lqCost.rate / rawCost.rate).toFixed(2)}x)`)
  console.log(`  in-process dispatch   ${ipRate.toFixed(0)}`)
  const us = (c: Cost) => c.processUs + c.redisUs
  const cost = (c: Cost) =>
    `${us(c).toFixed(0)} µs (this process ${c.processUs.toFixed(0)}, Redis ${c.redisUs.toFixed(0)}), ${c.scriptsPerJob.toFixed(1)} script calls`
  console.log(`CPU per job, ${JOBS} jobs (Redis's figures include whatever else it served meanwhile)`)
  console.log(`  llm-queue             ${cost(lqCost)}`)
  console.log(`  raw BullMQ            ${cost(rawCost)}`)
  console.log(`  llm-queue by CPU      ${(us(rawCost) / us(lqCost)).toFixed(2)}x raw BullMQ`)
  const burst = (ms: number) => `${ms.toFixed(0)} ms (${((ms * 1000) / BURST).toFixed(0)} µs a job)`
  console.log(`raw BullMQ, ${BURST} jobs waiting: until every one has started`)
  console.log(`  one Worker            ${burst(burstOne)}`)
  console.log(`  four Workers          ${burst(burstFour)}`)

  await dropKeysUnder(command, PREFIX)
  command.disconnect()
}

await main()
process.exit(0)

/**
 * llm-queue metrics on the core's registry: queue depth by state and live workers (read from
 * Redis at scrape time, the same on every instance), and, from the processes that run
 * workers, wait time, run time and outcomes.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface QueueMetrics {
  waitSeconds: Histogram
  runSeconds: Histogram
  finished: Counter<'outcome'>
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

export function createQueueMetrics(
  registry: Registry,
  read: { counts(): Promise<Record<string, number>>; workers(): Promise<{ workers: number; slots: number }> },
): QueueMetrics {
  new Gauge({
    name: 'llm_queue_jobs',
    help: 'Reply jobs in the llm-queue by state (waiting includes prioritized; failed are kept for inspection)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const c = await read.counts().catch(() => undefined)
      if (!c) return
      for (const [state, n] of Object.entries(c)) this.set({ state }, n)
    },
  })
  new Gauge({
    name: 'llm_queue_workers',
    help: 'llm-queue worker processes alive (heartbeat within 15 s)',
    registers: [registry],
    async collect() {
      const w = await read.workers().catch(() => undefined)
      if (w) this.set(w.workers)
    },
  })
  new Gauge({
    name: 'llm_queue_worker_slots',
    help: 'Jobs the live llm-queue workers can run at once (sum of their concurrency)',
    registers: [registry],
    async collect() {
      const w = await read.workers().catch(() => undefined)
      if (w) this.set(w.slots)
    },
  })
  return {
    waitSeconds: new Histogram({
      name: 'llm_queue_wait_seconds',
      help: 'Time from enqueue to a worker starting the job (observed by the worker)',
      buckets: BUCKETS,
      registers: [registry],
    }),
    runSeconds: new Histogram({
      name: 'llm_queue_run_seconds',
      help: 'Time a worker spent running a job (observed by the worker)',
      buckets: BUCKETS,
      registers: [registry],
    }),
    finished: new Counter({
      name: 'llm_queue_jobs_finished_total',
      help: 'Job attempts ended in this worker process, by outcome: done, retried, worker_lost, CANCELLED, or an error code',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  }
}

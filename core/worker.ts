/**
 * `npm run worker`: the worker role. Same code and config as the api: loads the config,
 * opens the database, wires the same plugins and slots (assemble.ts, no route), then runs
 * reply jobs from the queue with the core's runner. Needs an llm dispatch backend with separate workers (`llm-queue`).
 * With `WORKER_PORT` set it serves `/health/live`, `/health/ready` and `/metrics`, nothing
 * else. SIGTERM: stop taking jobs, finish those running (the plugin's drain deadline), exit.
 */
import { Elysia } from 'elysia'
import { assembleCore } from './assemble.ts'
import { loadConfig } from './config/load.ts'
import { ScaleError } from './errors.ts'
import { exitOnError } from './exit.ts'
import { createLogger, flushLogs } from './observability/logger.ts'
import type { JobRunner, LlmDispatch } from './ports/index.ts'
import { operationRoutes } from './routes/operations.ts'
import type { Listening } from './runtime/adapter.ts'

/** A dispatch whose jobs can run in another process than the one that submitted them. */
interface WorkerDispatch extends LlmDispatch {
  startWorker(runner: JobRunner): Promise<void>
}

const hasWorkers = (d: LlmDispatch): d is WorkerDispatch => typeof (d as Partial<WorkerDispatch>).startWorker === 'function'

/** Start the worker role; resolves once it runs (the process then lives until a signal). */
export async function main(): Promise<void> {
  const config = await loadConfig()
  const logger = createLogger(config.logging.level).child({ role: 'worker' })
  const core = await assembleCore(config, { logger, role: 'worker' })
  const dispatch = core.slots.llmDispatch
  if (!hasWorkers(dispatch)) {
    await core.stop()
    throw new ScaleError(
      'CONFIG_INVALID',
      'npm run worker needs an llm dispatch with separate workers; add llmQueue() to config.plugins (without it the api runs replies itself)',
    )
  }
  await dispatch.startWorker(core.runner)

  let health: Listening | undefined
  if (process.env.WORKER_PORT !== undefined) {
    health = await core.runtime.listen(new Elysia({ name: 'worker-health' }).use(operationRoutes(core.deps)), {
      port: Number(process.env.WORKER_PORT),
      hostname: config.server.hostname,
      maxRequestBodySize: 1024,
    })
    logger.info({ port: health.port }, `worker health on http://${config.server.hostname}:${health.port}`)
  }
  logger.info({ pid: process.pid }, 'worker running')

  let signals = 0
  const shutdown = async (signal: string) => {
    if (++signals > 1) process.exit(1)
    logger.info({ signal }, 'worker stopping: no new jobs; finishing the running ones')
    await health?.stop(false)
    await core.stop()
    logger.info('worker stopped')
    await flushLogs(logger)
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

// Run directly (`bun core/worker.ts`); `scale-runtime worker` imports main() instead.
if (import.meta.main) main().catch(exitOnError)

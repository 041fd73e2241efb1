/** `npm start`: load config/scale.ts (or SCALE_CONFIG), start the api, stop cleanly on SIGTERM/SIGINT. */
import { createRuntime } from './app.ts'
import { loadConfig } from './config/load.ts'
import { exitOnError } from './exit.ts'
import { createLogger, flushLogs } from './observability/logger.ts'
import { detectRuntime } from './runtime/index.ts'

/** Start the api role; resolves once it runs (the process then lives until a signal). */
export async function main(): Promise<void> {
  const config = await loadConfig()
  const logger = createLogger(config.logging.level)
  const rt = await createRuntime(config, { logger })
  const { port } = await rt.listen()
  logger.info(
    {
      port,
      runtime: await detectRuntime().then((r) => `${r.name} ${r.version}`),
      database: config.database.url ? 'postgres' : `pglite (${config.database.dataDir})`,
      plugins: config.plugins.length,
      instances: config.instances,
      llm: config.llm.provider === 'fake' ? 'fake (offline: no ANTHROPIC_API_KEY set)' : `anthropic (${config.llm.model})`,
    },
    `scale-runtime listening on http://${config.server.hostname}:${port}`,
  )
  let signals = 0
  const shutdown = async (signal: string) => {
    if (++signals > 1) process.exit(1)
    logger.info({ signal }, 'shutting down: draining in-flight requests')
    await rt.stop()
    logger.info('stopped')
    await flushLogs(logger)
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

// Run directly (`bun core/main.ts`); `scale-runtime start` imports main() instead.
if (import.meta.main) main().catch(exitOnError)

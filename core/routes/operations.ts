/** `/health/live`, `/health/ready` and `/metrics`: never authenticated, never rate limited. */
import { Elysia } from 'elysia'
import type { AppDeps } from '../http/deps.ts'
import { LIVE_ANSWER, LIVE_PATH } from '../http/live-probe.ts'

export function operationRoutes({ health, metrics, config }: AppDeps) {
  const app = new Elysia({ name: 'routes-operations', tags: ['operations'] })
    .get(LIVE_PATH, () => LIVE_ANSWER)
    .get('/health/ready', async ({ set }) => {
      const report = await health()
      if (report.status !== 'ready') set.status = 503
      return report
    })
  if (!config.metrics.enabled) return app
  return app.get('/metrics', async ({ set }) => {
    set.headers['content-type'] = metrics.registry.contentType
    return metrics.registry.metrics()
  })
}

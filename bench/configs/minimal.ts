/** Variant: access log, metrics and limiter all off; what is left is Elysia, the guard and the request id. */
import noopLimiter from '../plugins/noop-limiter.ts'
import { benchConfig } from './base.ts'

export default benchConfig({ logging: { requests: false }, metrics: { enabled: false }, plugins: [noopLimiter()] })

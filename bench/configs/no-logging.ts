/** Variant: the per-request access log line off (logging.requests false), everything else default. */
import { benchConfig } from './base.ts'

export default benchConfig({ logging: { requests: false } })

/** Variant: Prometheus request metrics off (metrics.enabled false), everything else default. */
import { benchConfig } from './base.ts'

export default benchConfig({ metrics: { enabled: false } })

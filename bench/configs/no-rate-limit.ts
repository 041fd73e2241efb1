/** Variant: the rate limiter slot replaced by one that allows everything, to isolate the limiter's own cost. */
import noopLimiter from '../plugins/noop-limiter.ts'
import { benchConfig } from './base.ts'

export default benchConfig({ plugins: [noopLimiter()] })

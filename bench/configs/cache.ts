/** The runtime with the cache plugin (L1 + Redis); REDIS_URL, REDIS_KEY_PREFIX and DATABASE_URL come from the stack. */
import cache from '../../plugins/cache/index.ts'
import { benchConfig } from './base.ts'

export default benchConfig({ plugins: [cache()] })

/** Variant: verified tokens not remembered (auth.tokenCacheSize 0), so jose verifies every request. */
import { benchConfig } from './base.ts'

export default benchConfig({ auth: { jwtSecret: 'bench-secret-bench-secret-bench-secret-0000', tokenCacheSize: 0 } })

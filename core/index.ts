/**
 * `scale-runtime`: what an app's `config/scale.ts` imports. Semver-guarded, like
 * `scale-runtime/plugin` and `scale-runtime/testing`.
 *
 * @example
 * import { defineScale } from 'scale-runtime'
 * export default defineScale({ plugins: [['scale-plugin-audit-log', { path: './data/audit.log' }]] })
 */
export { defineScale, type ScaleConfig } from './config/define.ts'
export { CORE_VERSION } from './version.ts'

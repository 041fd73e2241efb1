/**
 * __PACKAGE__: a scale-runtime plugin that fills the `rateLimit` slot with the sliding-window
 * limiter in ./limiter.ts (in process memory: a starting point to replace with your backend).
 *
 * @example
 * // config/scale.ts
 * plugins: [['__PACKAGE__', { maxKeys: 100000 }]]
 */
import { definePlugin, Type } from 'scale-runtime/plugin'
import { createSlidingWindowLimiter } from './limiter'

export default definePlugin({
  manifest: {
    name: '__NAME__', // unique, kebab-case
    core: '__CORE_RANGE__', // the scale-runtime versions this plugin supports
    provides: ['rateLimit'], // slots it fills
    requires: { services: [] }, // 'postgres' | 'redis', and other plugins by name
  },
  // Checked at start-up: a wrong or unknown option stops the runtime with PLUGIN_OPTIONS_INVALID.
  options: Type.Object(
    {
      maxKeys: Type.Integer({ default: 100_000, minimum: 1, description: 'how many keys are tracked at most: an integer from 1' }),
    },
    { additionalProperties: false },
  ),
  create: (options) => {
    const limiter = createSlidingWindowLimiter(options)
    return {
      setup: () => ({ slots: { rateLimit: limiter } }),
      health: () => 'ok',
      stop: () => limiter.stop(),
    }
  },
})

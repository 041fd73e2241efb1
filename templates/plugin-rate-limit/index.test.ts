/** The plugin contract and the rateLimit port's conformance suite, both from scale-runtime/testing. */
import { pluginSuite, rateLimiterSuite, slotOf } from 'scale-runtime/testing'
import plugin from './index'

pluginSuite('__NAME__', plugin, { options: { maxKeys: 1000 }, invalidOptions: { maxKeys: 0 } })
rateLimiterSuite('__NAME__', () => slotOf(plugin(), 'rateLimit'))

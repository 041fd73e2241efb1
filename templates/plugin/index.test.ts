/** The plugin contract, run from scale-runtime's own conformance kit. */
import { pluginSuite } from 'scale-runtime/testing'
import plugin from './index'

pluginSuite('__NAME__', plugin, { options: { greeting: 'hi' }, invalidOptions: { greeting: '' } })

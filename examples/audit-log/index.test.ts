/** The plugin contract, run from scale-runtime's own conformance kit. */
import { pluginSuite } from 'scale-runtime/testing'
import plugin from './index'

pluginSuite('audit-log', plugin, { options: { path: '/dev/null' }, invalidOptions: { methods: ['FETCH'] } })

/** The runtime with replica-router; DATABASE_REPLICA_URLS comes from the stack. */
import replicaRouter from '../../plugins/replica-router/index.ts'
import { benchConfig } from './base.ts'

export default benchConfig({ plugins: [replicaRouter()] })

/** The runtime with replica-router and its write marks in session-redis (one session read per routed read). */
import replicaRouter from '../../plugins/replica-router/index.ts'
import sessionRedis from '../../plugins/session-redis/index.ts'
import { benchConfig } from './base.ts'

export default benchConfig({ plugins: [sessionRedis(), replicaRouter()] })

/** The runtime with its reads uncached (every TTL 0: each request queries the database), for the data-cache scenario. */
import { benchConfig } from './base.ts'

export default benchConfig({ cache: { ttl: { user: 0, conversations: 0, conversation: 0, messages: 0 } } })

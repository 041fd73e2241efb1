/** The runtime as a user gets it: access log at info to stdout, metrics on, token cache on. */
import { benchConfig } from './base.ts'

export default benchConfig()

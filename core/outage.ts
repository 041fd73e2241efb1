/** A backing service out of reach (the database, Redis) as the 503 every channel answers with. */
import { databaseUnavailable } from './db/errors.ts'
import { redisUnavailable } from './redis/errors.ts'
import type { ScaleError } from './errors.ts'

/** The 503 UNAVAILABLE (with Retry-After) for an error that means a backing service cannot be reached, or undefined. */
export const unavailableFrom = (e: unknown): ScaleError | undefined => databaseUnavailable(e) ?? redisUnavailable(e)

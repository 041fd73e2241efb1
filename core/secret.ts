/**
 * The JWT signing secret: from config (`JWT_SECRET`) when set; otherwise, on the embedded
 * database, one kept in the data folder so tokens survive a restart; otherwise random per
 * process (tokens die with it, which is why several instances require JWT_SECRET).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ResolvedConfig } from './config/resolved.ts'
import type { Logger } from './observability/logger.ts'

const encode = (s: string) => new TextEncoder().encode(s)

export async function jwtSecret(config: ResolvedConfig, logger: Logger): Promise<Uint8Array> {
  if (config.auth.jwtSecret) return encode(config.auth.jwtSecret)
  const random = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
  const dir = config.database.dataDir
  if (!config.database.url && dir !== 'memory://') {
    const file = join(dir, 'jwt-secret')
    if (!existsSync(file)) writeFileSync(file, random(), { mode: 0o600 })
    return encode(readFileSync(file, 'utf8').trim())
  }
  logger.warn('no JWT_SECRET set: tokens are signed with a random per-process secret and stop working on restart')
  return encode(random())
}

/** Opaque page cursors: base64url of a small JSON tuple; a tampered cursor is a 400, never a 500. */
import { ScaleError, quote } from '../errors.ts'

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url')
}

/** Decode a cursor made by {@link encodeCursor} whose parts match `kinds`. */
export function decodeCursor<T extends (string | number)[]>(cursor: string, kinds: ('string' | 'number')[]): T {
  let parts: unknown
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    parts = undefined
  }
  if (!Array.isArray(parts) || parts.length !== kinds.length || parts.some((p, i) => typeof p !== kinds[i])) throw badCursor(cursor)
  return parts as T
}

export const badCursor = (cursor: string) =>
  new ScaleError(
    'VALIDATION_FAILED',
    `cursor ${quote(cursor)} is not one this API returned; pass back nextCursor or cursor unchanged, or omit it to start over`,
  )

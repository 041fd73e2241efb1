/** Opaque page cursors: base64url of a small JSON tuple; a tampered cursor is a 400, never a 500. */
import { ScaleError, quote } from '../errors.ts'

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url')
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/

/**
 * What each part of a cursor must be, checked before it reaches SQL (a 1.5 where a bigint
 * goes, or a title where a timestamp goes, would be a database error).
 */
const kinds = {
  /** A non-negative safe integer (a serial). */
  seq: (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
  /** A transaction id as decimal digits (xid8 is 64-bit, so it travels as a string). */
  xid: (v: unknown) => typeof v === 'string' && /^\d{1,20}$/.test(v) && BigInt(v) < 2n ** 64n,
  /** An ISO timestamp as `toISOString()` writes it. */
  time: (v: unknown) => typeof v === 'string' && ISO.test(v) && !Number.isNaN(Date.parse(v)),
  uuid: (v: unknown) => typeof v === 'string' && UUID.test(v),
}
export type CursorPart = keyof typeof kinds

/** Decode a cursor made by {@link encodeCursor} whose parts match `parts`. */
export function decodeCursor<T extends (string | number)[]>(cursor: string, parts: CursorPart[]): T {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    value = undefined
  }
  if (!Array.isArray(value) || value.length !== parts.length || !value.every((v, i) => kinds[parts[i]!](v))) throw badCursor(cursor)
  return value as T
}

export const badCursor = (cursor: string) =>
  new ScaleError(
    'VALIDATION_FAILED',
    `cursor ${quote(cursor)} is not one this API returned; pass back nextCursor or cursor unchanged, or omit it to start over`,
  )

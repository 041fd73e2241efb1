/** How a command line entry point ends on an error: one plain `CODE: message` line for coded errors. */
import { isScaleError } from './errors.ts'

export function exitOnError(e: unknown): never {
  // Start-up errors are for the person starting it: one plain line, code first.
  console.error(isScaleError(e) ? `${e.code}: ${e.message}` : e)
  process.exit(1)
}

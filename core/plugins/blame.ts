/**
 * Errors raised while loading or setting up a plugin, made to name it: a coded error keeps
 * its code and gets the plugin's name in front when it lacks it; anything else becomes
 * `fallback` (a start-up code) with the plugin's name and the original message.
 */
import { ScaleError, isScaleError, quote, type ErrorCode } from '../errors.ts'
import { errorText } from './define.ts'

export function blame(who: string, cause: unknown, fallback: ErrorCode, doing: string): ScaleError {
  if (isScaleError(cause)) {
    if (cause.message.includes(who)) return cause
    return new ScaleError(cause.code, `${who}: ${cause.message}`, { status: cause.status, cause })
  }
  return new ScaleError(fallback, `${who} ${doing}: ${errorText(cause)}`, { cause })
}

/** `plugin "name"`, or `plugin "name" (package "pkg")` when it was loaded by package name. */
export function pluginLabel(name: string, pkg?: string): string {
  return pkg && pkg !== name ? `plugin ${quote(name)} (package ${quote(pkg)})` : `plugin ${quote(name)}`
}

/**
 * WAL positions (LSNs) as plain numbers, and the clock that turns a replica's replayed
 * position into a lag in seconds by remembering when the primary passed each position.
 */

/**
 * `'16/B374D848'` -> 0x16B374D848. A number is exact up to 2^53 bytes of WAL (8 PiB), far
 * beyond any cluster's lifetime, and compares in one machine instruction on the read path.
 */
export function parseLsn(text: string | null | undefined): number | undefined {
  if (!text) return undefined
  const slash = text.indexOf('/')
  if (slash < 1) return undefined
  const hi = Number.parseInt(text.slice(0, slash), 16)
  const lo = Number.parseInt(text.slice(slash + 1), 16)
  if (!Number.isFinite(hi) || !Number.isFinite(lo)) return undefined
  return hi * 0x1_0000_0000 + lo
}

interface Sample {
  at: number
  lsn: number
}

/**
 * The primary's WAL position over time, sampled once per poll. A replica that has replayed up
 * to `p` is as far behind as the time since the primary first went past `p`; an idle primary
 * therefore never makes a caught-up replica look late (which `now() -
 * pg_last_xact_replay_timestamp()` alone does).
 */
export class LagClock {
  private samples: Sample[] = []
  constructor(private readonly keepMs: number) {}

  /** The latest primary position seen, if any. */
  get primary(): number | undefined {
    return this.samples.at(-1)?.lsn
  }

  record(lsn: number, at = Date.now()): void {
    const last = this.samples.at(-1)
    if (!last || lsn > last.lsn) this.samples.push({ at, lsn })
    // Keep one sample older than the window, so a replica behind all of it still has a bound.
    while (this.samples.length > 2 && this.samples[1]!.at < at - this.keepMs) this.samples.shift()
  }

  /**
   * Seconds a replica at `replay` is behind, at `now`. `replayedAt` (the commit time of the
   * last transaction it replayed, epoch ms) is used only when it is behind every sample kept.
   */
  lagSeconds(replay: number, now = Date.now(), replayedAt?: number): number {
    const s = this.samples
    if (s.length === 0 || replay >= s[s.length - 1]!.lsn) return 0
    // The first sample past `replay` is when the primary was first seen ahead of it.
    let i = s.length - 1
    while (i > 0 && s[i - 1]!.lsn > replay) i--
    let since = s[i]!.at
    if (i === 0 && replayedAt !== undefined) since = Math.min(since, replayedAt)
    return Math.max(0, now - since) / 1000
  }
}

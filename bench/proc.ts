/** Process and machine facts the harness needs: free ports, CPU pinning, CPU time and RSS of a pid, versions. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

export { freePort } from '../deploy/local/net.ts'

export const cores = (): number => availableParallelism()

export function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Where the server and the load generator run. With two cores or more each gets its own,
 * so the load generator never steals the server's CPU (and the result is per core, which
 * is what the hot path budget is written in).
 */
export interface Pinning {
  server?: number
  load?: number
}

export function pinning(): Pinning {
  if (cores() < 2 || !has('taskset')) return {}
  return { server: 0, load: 1 }
}

/** Prefix a command with `taskset -c <cpu>` when a cpu is given. */
export const pinned = (cpu: number | undefined, argv: string[]): string[] =>
  cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv]

/** Move a running process, every thread of it, to one core (threads it starts later inherit that). */
export function pin(pid: number, cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' })
}

let ticks: number | undefined
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticks = 100
    }
  }
  return ticks
}

/** CPU seconds (user + system, all threads) a process has used so far; undefined off Linux. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces; fields after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / clockTicks()
  } catch {
    return undefined
  }
}

/** Resident set size in MiB. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    if (m) return Number(m[1]) / 1024
  } catch {}
  try {
    return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024
  } catch {
    return undefined
  }
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) return m[1]!.trim()
  } catch {}
  try {
    return execFileSync('sysctl', ['-n', 'machdep.cpu.brand_string'], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

/** First line of `cmd args`, or 'missing'. Some tools (wrk) print their version to stderr with a non-zero exit. */
export function versionOf(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]!
      .trim()
  } catch (e) {
    const out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`
    return out.split('\n')[0]?.trim() || 'missing'
  }
}

/** The installed version of a package, read from its package.json. */
export function packageVersion(name: string): string {
  try {
    const path = new URL(`../node_modules/${name}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version
  } catch {
    return 'missing'
  }
}

/**
 * Where the embedded database keeps its files, and how a new one is made.
 *
 * PostgreSQL's initdb grows PGlite's WebAssembly memory by about 60 MiB, and WebAssembly
 * memory never shrinks; even once that instance is closed and collected, the runtime's
 * allocator keeps about 28 MiB of it resident. So a new cluster is made by a child process
 * (pglite-initdb.ts) that exits when done, before the PGlite that serves opens the folder.
 * Where no child process can be started, a throwaway instance in this process does it.
 *
 * `memory://` is a throwaway folder in the OS temp folder, not PGlite's in-memory file
 * system: that one keeps every data file in the JS heap (about 160 MiB more RSS). The folder
 * is a copy of a template made once per process (initdb runs once, not per database), and is
 * removed when the database closes or the process exits; folders left by a killed process
 * are removed by the next `memory://` open.
 */
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PGlite, PGliteOptions } from '@electric-sql/pglite'

export const MEMORY = 'memory://'

/** The PostgreSQL settings of every embedded database (see `openDatabase`). */
export type PgliteSettings = Pick<PGliteOptions, 'postgresqlconf'>

type PgliteClass = new (dataDir: string, options: PGliteOptions) => PGlite

export interface PgliteFolder {
  path: string
  /** Remove the folder if it is a throwaway one (`memory://`); a no-op for a named folder. */
  dispose(): void
}

const PREFIX = `scale-pglite-${process.pid}-`
const live = new Set<string>()
let template: Promise<string> | undefined

/** A folder holding an initialized cluster for `dataDir` (a path, or `memory://`). */
export async function pgliteFolder(PGlite: PgliteClass, dataDir: string, settings: PgliteSettings): Promise<PgliteFolder> {
  if (dataDir !== MEMORY) {
    mkdirSync(dataDir, { recursive: true })
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initdb(PGlite, dataDir, settings)
    return { path: dataDir, dispose: () => {} }
  }
  sweepDeadProcesses()
  const path = mkdtempSync(join(tmpdir(), PREFIX))
  live.add(path)
  try {
    cpSync(await (template ??= makeTemplate(PGlite, settings)), path, { recursive: true })
  } catch (err) {
    remove(path)
    throw err
  }
  return { path, dispose: () => remove(path) }
}

async function initdb(PGlite: PgliteClass, path: string, settings: PgliteSettings): Promise<void> {
  const started = await initdbInChild(path, settings)
  if (started) return
  const fresh = new PGlite(path, settings)
  await fresh.waitReady
  await fresh.close()
}

const INITDB = fileURLToPath(new URL('./pglite-initdb.ts', import.meta.url))

declare const Deno: unknown

/** Runs pglite-initdb.ts with this process's runtime; false when no child process could start. */
function initdbInChild(path: string, settings: PgliteSettings): Promise<boolean> {
  const argv = typeof Deno !== 'undefined' ? ['run', '-A', INITDB] : [INITDB]
  return new Promise((resolve, reject) => {
    let stderr = ''
    const child = spawn(process.execPath, [...argv, path, JSON.stringify(settings)], { stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr.on('data', (d) => {
      if (stderr.length < 4096) stderr += String(d)
    })
    child.on('error', () => resolve(false))
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(true)
      else reject(new Error(`initializing the embedded database in ${path} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-1000)}`))
    })
  })
}

async function makeTemplate(PGlite: PgliteClass, settings: PgliteSettings): Promise<string> {
  process.once('exit', () => {
    for (const path of live) rmSync(path, { recursive: true, force: true })
  })
  const path = mkdtempSync(join(tmpdir(), PREFIX))
  live.add(path)
  await initdb(PGlite, path, settings)
  return path
}

function remove(path: string): void {
  live.delete(path)
  rmSync(path, { recursive: true, force: true })
}

/** Throwaway folders whose process no longer runs (killed before it could remove them). */
function sweepDeadProcesses(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(/^scale-pglite-(\d+)-/.exec(name)?.[1])
    if (pid && pid !== process.pid && !running(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true })
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

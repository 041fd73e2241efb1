/**
 * The project's TypeScript import graph and its cycles. Every import counts: `import type`,
 * re-exports and `import()` with a literal path; paths resolve as the compiler resolves them
 * (tsconfig.json, so `scale-runtime/plugin` is `core/plugin.ts`). Used by
 * test/shape/cycles.test.ts and scripts/shape-report.ts.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import ts from 'typescript'

export const ROOT = resolve(import.meta.dir, '..')

/** The folders whose files must form no cycle. */
export const CHECKED_DIRS = ['core', 'plugins', 'bench', 'deploy', 'testing', 'config', 'console', 'scripts']

/** Each file (relative to the root) and the project files it imports. */
export type ImportGraph = Map<string, Set<string>>

function compilerOptions(root: string): ts.CompilerOptions {
  const file = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile)
  return ts.parseJsonConfigFileContent(file.config, ts.sys, root).options
}

/** The TypeScript files under a folder (none when it does not exist). */
export function sourceFiles(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue
      const path = join(d, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.(ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path)
    }
  }
  try {
    walk(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  return out
}

/** The module specifiers a file names: static imports and exports (type-only too) and literal `import()`. */
export function specifiers(path: string, text = readFileSync(path, 'utf8')): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName)
}

/** The import graph of the files under `dirs` (relative to `root`); edges leave `dirs` only to project files. */
export function importGraph(dirs: string[] = CHECKED_DIRS, root = ROOT): ImportGraph {
  const options = compilerOptions(root)
  const graph: ImportGraph = new Map()
  for (const dir of dirs) {
    for (const path of sourceFiles(join(root, dir))) {
      const edges = new Set<string>()
      for (const spec of specifiers(path)) {
        const resolved = ts.resolveModuleName(spec, path, options, ts.sys).resolvedModule
        if (!resolved || resolved.isExternalLibraryImport) continue
        const target = relative(root, resolved.resolvedFileName)
        if (!target.startsWith('..') && !target.includes('node_modules')) edges.add(target)
      }
      graph.set(relative(root, path), edges)
    }
  }
  return graph
}

/** The groups of files that import each other (strongly connected components of two or more, or a self-import), each sorted. */
export function cycles(graph: ImportGraph): string[][] {
  let index = 0
  const indexOf = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string) => {
    indexOf.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!indexOf.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!))
    }
    if (low.get(v) === indexOf.get(v)) {
      const group: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        group.push(w)
      } while (w !== v)
      if (group.length > 1 || graph.get(v)?.has(v)) found.push(group.sort())
    }
  }
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v)
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!))
}

/** One shortest path of imports that leaves `group[0]` and comes back, to show a cycle. */
export function loopThrough(graph: ImportGraph, group: string[]): string[] {
  const inGroup = new Set(group)
  const start = group[0]!
  const from = new Map<string, string>()
  const queue = [start]
  while (queue.length) {
    const v = queue.shift()!
    for (const w of graph.get(v) ?? []) {
      if (!inGroup.has(w)) continue
      if (w === start) {
        const path = [v]
        while (path[0] !== start) path.unshift(from.get(path[0]!)!)
        return [...path, start]
      }
      if (!from.has(w)) {
        from.set(w, v)
        queue.push(w)
      }
    }
  }
  return [start]
}

/**
 * The code's shape in three figures: import cycles, the longest functions, and where the
 * duplicated blocks are counted (`duplicates`, not here).
 *
 *   bun scripts/shape-report.ts [--top 10] [folder]
 *
 * Functions are every function declaration, method, function expression and arrow function
 * in core/, plugins/, bench/, deploy/, testing/, config/, console/ and scripts/; a
 * function's length is its lines from its first to its last, inner functions included (a
 * callback handed to `describe` or `test` is not counted on its own).
 */
import { readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import ts from 'typescript'
import { CHECKED_DIRS, cycles, importGraph, loopThrough, sourceFiles } from './import-graph.ts'

export interface FunctionLength {
  name: string
  file: string
  line: number
  lines: number
}

function nameOf(node: ts.Node): string {
  const named = node as ts.Node & { name?: ts.Node }
  if (named.name && (ts.isIdentifier(named.name) || ts.isStringLiteral(named.name))) return named.name.text
  const parent = node.parent
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text
  if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text
  if (ts.isCallExpression(parent)) return `${parent.expression.getText().slice(0, 40)}(…)`
  return '(anonymous)'
}

/** A callback handed to `describe` or `test`: the suite's body, counted with the function that calls it. */
const isSuiteBody = (node: ts.Node) =>
  ts.isCallExpression(node.parent) && /^(describe|describeWith|test|it)\b/.test(node.parent.expression.getText())

/** Every function in the files with its length in lines, longest first. */
export function functionLengths(root: string, dirs: string[] = CHECKED_DIRS): FunctionLength[] {
  const out: FunctionLength[] = []
  for (const dir of dirs) {
    for (const path of sourceFiles(resolve(root, dir))) {
      const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true)
      const visit = (node: ts.Node) => {
        if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body && !isSuiteBody(node)) {
          const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
          const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line
          out.push({ name: nameOf(node), file: relative(root, path), line: start + 1, lines: end - start + 1 })
        }
        ts.forEachChild(node, visit)
      }
      visit(sf)
    }
  }
  return out.sort((a, b) => b.lines - a.lines)
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const topAt = args.indexOf('--top')
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 10
  const root = resolve(args[0] ?? resolve(import.meta.dir, '..'))
  const graph = importGraph(CHECKED_DIRS, root)
  const found = cycles(graph)
  console.log(`import cycles: ${found.length}`)
  for (const group of found) console.log(`  ${loopThrough(graph, group).join(' -> ')}  (${group.length} files)`)
  console.log(`longest functions:`)
  for (const f of functionLengths(root).slice(0, top)) console.log(`  ${String(f.lines).padStart(4)}  ${f.name}  ${f.file}:${f.line}`)
}

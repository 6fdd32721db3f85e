import * as fs from 'node:fs'
import * as path from 'node:path'
import ts from 'typescript'

/**
 * The shape of src/: modules import along the data's way, never in a circle (type imports
 * included), and the entry points stay thin.
 */

const SRC = path.resolve(import.meta.dirname, '..', 'src')

function modules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? modules(full) : full.endsWith('.ts') ? [full] : []
  })
}

/** Each module's relative imports (static, dynamic and type-only), as absolute .ts paths. */
function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>()
  for (const file of modules(SRC)) {
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
    const targets: string[] = []
    const visit = (node: ts.Node): void => {
      const specifier =
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)
          ? node.moduleSpecifier.text
          : ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0]!)
            ? (node.arguments[0] as ts.StringLiteral).text
            : undefined
      if (specifier?.startsWith('.')) targets.push(path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts'))
      ts.forEachChild(node, visit)
    }
    visit(source)
    edges.set(file, targets)
  }
  return edges
}

test('every relative import names a module that exists', () => {
  const missing = [...graph()].flatMap(([from, targets]) => targets.filter(t => !fs.existsSync(t)).map(t => `${path.relative(SRC, from)} → ${t}`))
  expect(missing).toEqual([])
})

test('the module graph has no cycles', () => {
  const edges = graph()
  const cycles: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const walk = (node: string, trail: string[]): void => {
    state.set(node, 'visiting')
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'visiting') cycles.push([...trail.slice(trail.indexOf(next)), next].map(f => path.relative(SRC, f)).join(' → '))
      else if (!state.has(next)) walk(next, [...trail, next])
    }
    state.set(node, 'done')
  }
  for (const node of edges.keys()) if (!state.has(node)) walk(node, [node])
  expect(cycles).toEqual([])
})

test('the entry points only hand the runner to a step', () => {
  for (const entry of ['main.ts', 'post.ts', 'renew.ts']) {
    const code = fs
      .readFileSync(path.join(SRC, entry), 'utf8')
      .split('\n')
      .filter(line => line.trim() !== '' && !line.trim().startsWith('//'))
    expect([entry, code.length <= 6]).toEqual([entry, true])
  }
})

import * as fs from 'node:fs'
import * as path from 'node:path'
import ts from 'typescript'

/**
 * The shape of src/: folders import along the data's way, one way only (ALLOWED), modules never
 * in a circle (type imports included), and the entry points stay thin.
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

/**
 * The architecture, read downhill: each folder of src/ and the folders it may import from. The
 * data flows from the entry points through a step to the folders that do the work; nothing below
 * knows what is above it. `entry` is src/main.ts and src/post.ts; `base` the other files at the top
 * of src/ (errors, times, JSON), which import nothing. `renew` is the renewer's process, which a
 * step starts and ends and which logs in again with the login methods.
 */
const ALLOWED: Record<string, readonly string[]> = {
  entry: ['steps', 'renew', 'runtime'],
  steps: ['renew', 'login', 'handoff', 'share', 'credential-files', 'keystone', 'config', 'net', 'runtime', 'base'],
  renew: ['login', 'handoff', 'keystone', 'config', 'net', 'runtime', 'base'],
  login: ['keystone', 'config', 'net', 'runtime', 'base'],
  handoff: ['keystone', 'config', 'net', 'runtime', 'base'],
  share: ['keystone', 'config', 'net', 'runtime', 'base'],
  'credential-files': ['config', 'runtime', 'base'],
  keystone: ['config', 'net', 'runtime', 'base'],
  config: ['net', 'runtime', 'base'],
  net: ['runtime', 'base'],
  runtime: ['base'],
  base: []
}

const ENTRY_POINTS = new Set(['main.ts', 'post.ts', 'renew.ts'])

function folderOf(file: string): string {
  const relative = path.relative(SRC, file)
  if (!relative.includes(path.sep)) return ENTRY_POINTS.has(relative) ? 'entry' : 'base'
  return relative.split(path.sep)[0]!
}

test('every folder of src/ has its place in the allowed directions', () => {
  const folders = new Set([...graph().keys()].map(folderOf))
  expect([...folders].filter(folder => !Object.hasOwn(ALLOWED, folder))).toEqual([])
})

test('the allowed directions run one way: no folder can reach itself through them', () => {
  const reaches = (from: string, seen = new Set<string>()): Set<string> => {
    for (const next of ALLOWED[from] ?? []) if (!seen.has(next)) reaches(next, seen.add(next))
    return seen
  }
  expect(Object.keys(ALLOWED).filter(folder => reaches(folder).has(folder))).toEqual([])
})

test('folders import only downhill, type imports included', () => {
  const uphill = [...graph()].flatMap(([from, targets]) =>
    targets
      .filter(target => folderOf(target) !== folderOf(from) && !(ALLOWED[folderOf(from)] ?? []).includes(folderOf(target)))
      .map(target => `${path.relative(SRC, from)} → ${path.relative(SRC, target)} (${folderOf(from)} may not import ${folderOf(target)})`)
  )
  expect(uphill).toEqual([])
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

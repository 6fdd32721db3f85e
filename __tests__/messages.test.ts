import * as fs from 'node:fs'
import * as path from 'node:path'
import ts from 'typescript'
import { parse } from 'yaml'

/**
 * The sentences the action prints tell users what to set: an input, an OS_* variable, another
 * variable of the runner. Messages live in many modules and drift when the code moves on (advice to
 * set NODE_EXTRA_CA_CERTS after the `cacert` input existed, say). This test reads every string the
 * source holds, takes the sentences among them (text with spaces), and checks that each input they
 * name is declared in action.yml and each variable they name is one the code really reads or writes.
 */

const ROOT = path.resolve(import.meta.dirname, '..')
const action = parse(fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown>; outputs: Record<string, unknown> }
const INPUTS = new Set(Object.keys(action.inputs))
const OUTPUTS = new Set(Object.keys(action.outputs))

/** Words a message quotes in backticks that are not inputs: the CLI, shell and YAML words of an example. */
const QUOTED_NOT_INPUTS = new Set(['openstack', 'if', 'fi', 'name', 'values', 'clouds:', 'needs:', 'outputs:'])

/** Variables of the runner, Node and Python that messages may name without the action reading them. */
const RUNNER_VARIABLES = new Set(['PYTHONPATH', 'RUNNER_TEMP', 'GITHUB_REPOSITORY', 'GITHUB_REPOSITORY_ID', 'GITHUB_RUN_ID', 'GITHUB_RUN_ATTEMPT'])

interface Literal {
  file: string
  text: string
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return full.endsWith('.ts') ? [full] : []
  })
}

/** Names of variables the code uses as identifiers: `env.OS_TOKEN = …`, `source.env.OS_CLOUD`. */
const identifiers = new Set<string>()

/** Every string and template literal of src/ (a template's parts joined by a space). */
function literals(): Literal[] {
  const found: Literal[] = []
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node)) identifiers.add(node.text)
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) found.push({ file, text: node.text })
      else if (ts.isTemplateExpression(node)) {
        found.push({ file, text: [node.head.text, ...node.templateSpans.map(span => span.literal.text)].join(' ') })
      }
      ts.forEachChild(node, visit)
    }
    visit(source)
  }
  return found
}

const all = literals()
/** Sentences: what the user reads. A literal without a space is a name the code uses. */
const sentences = all.filter(literal => /\s/.test(literal.text.trim()))
const names = new Set([...all.filter(literal => !/\s/.test(literal.text.trim())).map(literal => literal.text.trim()), ...identifiers])
const where = (literal: Literal): string => `${path.relative(ROOT, literal.file)}: ${literal.text.slice(0, 120)}`

test('the source has the sentences this test reads (a guard against reading nothing)', () => {
  expect(sentences.length).toBeGreaterThan(150)
  expect(sentences.some(s => s.text.includes('`auth-url`'))).toBe(true)
})

test('every input a message names in backticks is declared in action.yml', () => {
  const unknown: string[] = []
  for (const sentence of sentences) {
    for (const [, quoted] of sentence.text.matchAll(/`([a-z][a-z0-9:-]*)`/g)) {
      if (!INPUTS.has(quoted!) && !OUTPUTS.has(quoted!) && !QUOTED_NOT_INPUTS.has(quoted!)) unknown.push(`\`${quoted}\` in ${where(sentence)}`)
    }
  }
  expect(unknown).toEqual([])
})

test('every setting a message spells out (name: value, "set name", "raise name", "the name input") is an input', () => {
  const unknown: string[] = []
  const forms = [
    /(?<![{\w-])([a-z][a-z0-9]*(?:-[a-z0-9]+)*): (?:true|false|direct|exchange|oidc|password|application-credential|0)\b/g,
    /\b(?:set|raise|lower) ([a-z][a-z0-9]*(?:-[a-z0-9]+)+)\b/g,
    /\bthe ([a-z][a-z0-9]*(?:-[a-z0-9]+)*) input\b/g
  ]
  for (const sentence of sentences) {
    for (const form of forms) {
      for (const [, name] of sentence.text.matchAll(form)) if (!INPUTS.has(name!)) unknown.push(`${name} in ${where(sentence)}`)
    }
  }
  expect(unknown).toEqual([])
})

test('every OS_* variable a message names is one the action reads, blanks or exports', () => {
  const unknown: string[] = []
  for (const sentence of sentences) {
    for (const [variable] of sentence.text.matchAll(/\bOS_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      if (!names.has(variable)) unknown.push(`${variable} in ${where(sentence)}`)
    }
  }
  expect(unknown).toEqual([])
})

test('any other variable a message names is read by the code or is the runner’s own', () => {
  const unknown: string[] = []
  for (const sentence of sentences) {
    for (const [variable] of sentence.text.matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b|\bPYTHONPATH\b/g)) {
      if (variable.startsWith('OS_') || /^E[A-Z]+$|^[A-Z]+_EXHAUSTION$|^MULTIPLE_DOCS$/.test(variable)) continue
      if (!RUNNER_VARIABLES.has(variable) && !names.has(variable)) unknown.push(`${variable} in ${where(sentence)}`)
    }
  }
  expect(unknown).toEqual([])
})

import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import fc from 'fast-check'
import { UserError } from '../src/errors.js'
import { parseOpenrc } from '../src/credential-files/openrc.js'

const FIXTURES = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'openrc')
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8')

function errorOf(text: string, env: Record<string, string> = {}): string {
  try {
    parseOpenrc(text, env)
  } catch (error) {
    expect(error).toBeInstanceOf(UserError)
    return (error as Error).message
  }
  throw new Error('expected a UserError')
}

const vars = (text: string, env: Record<string, string> = {}): Record<string, string> => parseOpenrc(text, env).variables

describe('files users download', () => {
  test("Horizon's v3 openrc", () => {
    expect(parseOpenrc(fixture('horizon-v3-openrc.sh'))).toEqual({
      variables: {
        OS_AUTH_URL: 'https://keystone.example.com:5000/v3',
        OS_PROJECT_ID: '8c4f2a1d0e9b4c7a9f3e6d5c4b3a2f10',
        OS_PROJECT_NAME: 'web-production',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_ID: 'default',
        OS_USERNAME: 'alice',
        OS_REGION_NAME: 'RegionOne',
        OS_INTERFACE: 'public',
        OS_IDENTITY_API_VERSION: '3'
      },
      unset: ['OS_TENANT_ID', 'OS_TENANT_NAME'],
      passwordPrompt: true
    })
  })

  test("Horizon's guard unsets a region it wrote empty", () => {
    const result = parseOpenrc(fixture('horizon-v3-no-region-openrc.sh'))
    expect(result.variables).not.toHaveProperty('OS_REGION_NAME')
    expect(result.unset).toEqual(['OS_TENANT_ID', 'OS_TENANT_NAME', 'OS_REGION_NAME'])
  })

  test("the prompt's answer is never taken from the environment", () => {
    const result = parseOpenrc(fixture('horizon-v3-openrc.sh'), { OS_PASSWORD_INPUT: 'leaked', OS_PASSWORD: 'from-env' })
    expect(result.variables).not.toHaveProperty('OS_PASSWORD')
    expect(result.passwordPrompt).toBe(true)
  })

  test("OVHcloud's openrc", () => {
    expect(parseOpenrc(fixture('ovhcloud-openrc.sh'))).toEqual({
      variables: {
        OS_AUTH_URL: 'https://auth.cloud.ovh.net/v3',
        OS_IDENTITY_API_VERSION: '3',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
        OS_TENANT_ID: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
        OS_TENANT_NAME: '4815162342108105',
        OS_USERNAME: 'user-Xy7Qk2Lm9Pz4',
        OS_REGION_NAME: 'GRA11'
      },
      unset: [],
      passwordPrompt: true
    })
  })

  test("OVHcloud's domain defaults keep a domain already in the environment", () => {
    const result = vars(fixture('ovhcloud-openrc.sh'), { OS_USER_DOMAIN_NAME: 'corp' })
    expect(result.OS_USER_DOMAIN_NAME).toBe('corp')
    expect(result.OS_PROJECT_DOMAIN_NAME).toBe('Default')
  })

  test("Horizon's application-credential openrc", () => {
    expect(parseOpenrc(fixture('horizon-app-cred-openrc.sh'))).toEqual({
      variables: {
        OS_AUTH_TYPE: 'v3applicationcredential',
        OS_AUTH_URL: 'https://keystone.example.com:5000/v3',
        OS_IDENTITY_API_VERSION: '3',
        OS_REGION_NAME: 'RegionOne',
        OS_INTERFACE: 'public',
        OS_APPLICATION_CREDENTIAL_ID: '21dced0fd20347869b93710d2b98aae0',
        OS_APPLICATION_CREDENTIAL_SECRET: 'fake-Secret_9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz'
      },
      unset: [],
      passwordPrompt: false
    })
  })

  test('a copy saved on Windows (UTF-8 BOM, CRLF) reads the same', () => {
    const original = fixture('horizon-v3-openrc.sh')
    expect(parseOpenrc(`\uFEFF${original.replace(/\n/g, '\r\n')}`)).toEqual(parseOpenrc(original))
  })
})

const FORMS: [string, string, Record<string, string>][] = [
  ['unquoted', 'export OS_USERNAME=alice', { OS_USERNAME: 'alice' }],
  ['without export', 'OS_USERNAME=alice', { OS_USERNAME: 'alice' }],
  ['several on one line', 'OS_A=1 OS_B=2; export OS_C=3 OS_D=4', { OS_A: '1', OS_B: '2', OS_C: '3', OS_D: '4' }],
  ['leading whitespace', '   \texport OS_USERNAME=alice', { OS_USERNAME: 'alice' }],
  ['double quotes keep spaces and #', 'export OS_PROJECT_NAME="my project # 2"', { OS_PROJECT_NAME: 'my project # 2' }],
  ['double-quote escapes', String.raw`export OS_PASSWORD="a\"b\\c\$d\e"`, { OS_PASSWORD: 'a"b\\c$d\\e' }],
  ['single quotes are literal', String.raw`export OS_PASSWORD='$HOME "x" \n'`, { OS_PASSWORD: '$HOME "x" \\n' }],
  ['an escaped single quote between single-quoted runs', String.raw`export OS_PASSWORD='it'\''s'`, { OS_PASSWORD: "it's" }],
  ['unquoted backslash escapes', String.raw`export OS_PASSWORD=a\ b\$c`, { OS_PASSWORD: 'a b$c' }],
  ['a value with = inside', 'export OS_PASSWORD=a=b==c', { OS_PASSWORD: 'a=b==c' }],
  ['an empty value', 'export OS_REGION_NAME=', { OS_REGION_NAME: '' }],
  ['an empty quoted value', 'export OS_REGION_NAME=""', { OS_REGION_NAME: '' }],
  ['# inside a word is not a comment', 'export OS_PASSWORD=a#b', { OS_PASSWORD: 'a#b' }],
  ['trailing comment', 'export OS_REGION_NAME="RegionOne" # Depends on the site', { OS_REGION_NAME: 'RegionOne' }],
  ['comments and blank lines', '# comment\n\n   # indented comment\nexport OS_A=1\n\n', { OS_A: '1' }],
  ['a dollar sign that starts nothing', 'export OS_PASSWORD=a$%b$', { OS_PASSWORD: 'a$%b$' }],
  ['a quoted value over two lines', "export OS_PASSWORD='line1\nline2'", { OS_PASSWORD: 'line1\nline2' }],
  ['backslash-newline continues the line', 'export OS_A=1 \\\n  OS_B=2', { OS_A: '1', OS_B: '2' }],
  ['non-ASCII text', 'export OS_PROJECT_NAME="Projet éléphant 🐘"', { OS_PROJECT_NAME: 'Projet éléphant 🐘' }],
  ['only OS_ variables are kept', 'export PS1="$ "\nLANG=C\nexport OS_A=1', { OS_A: '1' }]
]

const EXPANSIONS: [string, string, Record<string, string>, Record<string, string>][] = [
  ['$VAR from earlier in the file', 'P=web\nexport OS_PROJECT_NAME=$P-prod', {}, { OS_PROJECT_NAME: 'web-prod' }],
  ['${VAR} from the environment', 'export OS_PROJECT_NAME="${P}_x"', { P: 'web' }, { OS_PROJECT_NAME: 'web_x' }],
  ['the file wins over the environment', 'P=file\nexport OS_A=$P', { P: 'env' }, { OS_A: 'file' }],
  ['an unset variable is empty', 'export OS_A="[$NOPE]"', {}, { OS_A: '[]' }],
  ['a variable the file unset is empty even if the environment has it', 'unset P\nexport OS_A="[$P]"', { P: 'env' }, { OS_A: '[]' }],
  [':- uses the default when unset', 'export OS_A=${X:-"Default"}', {}, { OS_A: 'Default' }],
  [':- uses the default when empty', 'X=\nexport OS_A=${X:-Default}', {}, { OS_A: 'Default' }],
  ['- keeps an empty value', 'X=\nexport OS_A="[${X-Default}]"', {}, { OS_A: '[]' }],
  ['- uses the default when unset', 'export OS_A=${X-Default}', {}, { OS_A: 'Default' }],
  [':+ uses the alternative when set', 'X=1\nexport OS_A=${X:+yes}', {}, { OS_A: 'yes' }],
  ['a default with spaces and a nested expansion', 'D=dom\nexport OS_A="${X:-my $D ${Y:-z}}"', {}, { OS_A: 'my dom z' }],
  ['a default that is never used is never looked at', 'X=1\nexport OS_A=${X:-$(whoami)}', {}, { OS_A: '1' }]
]

describe('shell forms', () => {
  test.each(FORMS)('%s', (_name, text, expected) => {
    expect(vars(text)).toEqual(expected)
  })

  test.each(EXPANSIONS)('%s', (_name, text, env, expected) => {
    expect(vars(text, env)).toEqual(expected)
  })

  test('unset removes what was set earlier and is reported', () => {
    expect(parseOpenrc('export OS_TENANT_ID=x OS_A=1\nunset OS_TENANT_ID OS_TENANT_NAME LANG')).toEqual({
      variables: { OS_A: '1' },
      unset: ['OS_TENANT_ID', 'OS_TENANT_NAME'],
      passwordPrompt: false
    })
  })

  test('a variable set again after unset is no longer reported as unset', () => {
    expect(parseOpenrc('unset OS_A\nexport OS_A=2')).toEqual({ variables: { OS_A: '2' }, unset: [], passwordPrompt: false })
  })

  test('if blocks with string tests are evaluated', () => {
    const text = [
      'if [ -z "$OS_REGION_NAME" ]; then',
      '  export OS_REGION_NAME=RegionOne',
      'else',
      '  export OS_A=had-region',
      'fi',
      'if test -n "$OS_B"; then export OS_B=seen; fi',
      'if [ "$OS_REGION_NAME" = "RegionOne" ]; then export OS_C=1; elif [ 1 ]; then export OS_C=2; fi'
    ].join('\n')
    expect(vars(text)).toEqual({ OS_REGION_NAME: 'RegionOne', OS_C: '1' })
    expect(vars(text, { OS_REGION_NAME: 'Two' })).toEqual({ OS_A: 'had-region', OS_C: '2' })
  })

  test('an if the action cannot evaluate is ignored: its body is read', () => {
    expect(vars('if [ -f ~/.secret ]; then\n  export OS_A=1\nfi')).toEqual({ OS_A: '1' })
  })

  test('a prompt only when OS_PASSWORD is missing', () => {
    const text = [
      'if [ -z "$OS_PASSWORD" ]; then',
      '  echo "Please enter your OpenStack Password: " >&2',
      '  read -s -p "Password: " OS_PASSWORD_INPUT',
      '  export OS_PASSWORD=$OS_PASSWORD_INPUT',
      'fi'
    ].join('\n')
    expect(parseOpenrc(text)).toEqual({ variables: {}, unset: [], passwordPrompt: true })
  })

  test('a prompt into another variable name, or straight into OS_PASSWORD', () => {
    expect(parseOpenrc('read -sr password\nexport OS_PASSWORD=$password').passwordPrompt).toBe(true)
    expect(parseOpenrc('read -s OS_PASSWORD\nexport OS_PASSWORD').passwordPrompt).toBe(true)
    expect(parseOpenrc('read -s OS_PASSWORD\nexport OS_PASSWORD=$OS_PASSWORD')).toEqual({ variables: {}, unset: [], passwordPrompt: true })
  })

  test('a password written after the prompt wins over it', () => {
    expect(parseOpenrc('read -sr OS_PASSWORD_INPUT\nexport OS_PASSWORD=$OS_PASSWORD_INPUT\nexport OS_PASSWORD=pw')).toEqual({
      variables: { OS_PASSWORD: 'pw' },
      unset: [],
      passwordPrompt: false
    })
  })

  test('echo lines are never evaluated', () => {
    expect(vars('echo "Hello $(whoami) `id`" > /dev/null\nprintf "%s\\n" x\nexport OS_A=1')).toEqual({ OS_A: '1' })
  })

  test('a helper variable from a command is fine while no OS_ value uses it', () => {
    expect(vars('DIR=$(dirname "$0")\nexport OS_A=1')).toEqual({ OS_A: '1' })
  })
})

describe('refused', () => {
  test.each([
    ['$(…)', 'export OS_PASSWORD=$(pass show openstack)'],
    ['backticks', 'export OS_PASSWORD=`cat ~/.pw`'],
    ['inside double quotes', 'export OS_PROJECT_NAME="p-$(date +%Y)"'],
    ['through a helper variable', 'P=$(cat pw)\nexport OS_PASSWORD="$P"'],
    ['arithmetic', 'export OS_PASSWORD=$((1+2))']
  ])('command substitution: %s', (_name, text) => {
    const message = errorOf(text)
    expect(message).toMatch(/OS_(PASSWORD|PROJECT_NAME) uses command substitution, which the action never runs; put the value itself in the secret/)
    expect(message).not.toMatch(/pass show|cat|date|1\+2/)
  })

  test('a line it cannot understand is named by number only', () => {
    const message = errorOf('export OS_A=1\n\nopenstack token issue --os-password hunter2\n')
    expect(message).toMatch(/^OpenRC line 3 /)
    expect(message).not.toContain('hunter2')
    expect(message).not.toContain('openstack token')
  })

  test.each([
    ['source', 'source ~/other-openrc.sh'],
    ['a command', 'curl https://example.com/pw'],
    ['a prefix assignment on a command', 'OS_A=1 env'],
    ['a chained command', 'export OS_A=1 && export OS_B=2'],
    ['a chained echo', 'echo hi && export OS_B=2'],
    ['a pipe', 'cat pw | read OS_PASSWORD'],
    ['a subshell', '(export OS_A=1)'],
    ['a here-document', 'cat <<EOF\nexport OS_A=1\nEOF'],
    ['bash append', 'OS_A+=x'],
    ['export options', 'export -n OS_A'],
    ['else after an unknown condition', 'if [ -f x ]; then OS_A=1\nelse OS_A=2\nfi'],
    ['fi without if', 'fi'],
    ['then without if', 'then export OS_A=1'],
    ['an if never closed', 'if [ -z "$X" ]; then\nexport OS_A=1'],
    ['a loop', 'for x in a b; do export OS_A=$x; done'],
    ['a function', 'f() { export OS_A=1; }']
  ])('%s', (_name, text) => {
    expect(errorOf(text)).toMatch(/^OpenRC line \d+ /)
  })

  test.each([
    ['positional parameter', 'export OS_PASSWORD=$1'],
    ['length', 'export OS_A=${#X}'],
    ['pattern removal', 'export OS_A=${X%/*}'],
    ['assign default', 'export OS_A=${X:=y}'],
    ['ANSI-C quoting', "export OS_PASSWORD=$'a\\tb'"]
  ])('an expansion it does not evaluate: %s', (_name, text) => {
    expect(errorOf(text)).toMatch(/OS_(PASSWORD|A) uses a shell expansion the action does not evaluate/)
  })

  test('a quote never closed is named by the line it opens on, without the value', () => {
    const message = errorOf('export OS_A=1\nexport OS_PASSWORD="s3cr3t-value\nexport OS_B=2')
    expect(message).toMatch(/^OpenRC line 2 opens a quote that is never closed/)
    expect(message).not.toContain('s3cr3t')
  })

  test('an OS_ value read from a prompt other than the password', () => {
    expect(errorOf('read OS_USERNAME')).toMatch(/OpenRC line 1: OS_USERNAME is read from an interactive prompt/)
  })

  test('deeply nested expansions', () => {
    expect(errorOf(`export OS_A=${'${X:-'.repeat(100)}${'}'.repeat(100)}`)).toMatch(/nests \$\{…\} expansions more than/)
  })

  test('a huge text', () => {
    expect(errorOf(`export OS_A=${'x'.repeat(256 * 1024)}`)).toMatch(/characters long/)
  })
})

describe('properties', () => {
  /** printable text, ASCII and beyond, never a control character */
  const printable = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' })).filter(s => !/\p{Cc}/u.test(s))

  test("a single-quoted value round-trips, ' written as '\\''", () => {
    fc.assert(
      fc.property(printable, value => {
        const text = `export OS_X='${value.replace(/'/g, "'\\''")}'`
        expect(parseOpenrc(text)).toEqual({ variables: { OS_X: value }, unset: [], passwordPrompt: false })
      }),
      { numRuns: 500 }
    )
  })

  test('a double-quoted value round-trips with \\ " $ ` escaped', () => {
    fc.assert(
      fc.property(printable, value => {
        const text = `export OS_X="${value.replace(/[\\"$`]/g, c => `\\${c}`)}"`
        expect(parseOpenrc(text).variables).toEqual({ OS_X: value })
      }),
      { numRuns: 500 }
    )
  })

  const shellish = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          'export ',
          'unset ',
          'OS_A=',
          'OS_B',
          '=',
          '$',
          '${',
          '}',
          ':-',
          '-',
          '"',
          "'",
          '\\',
          '`',
          '$(',
          '(',
          ')',
          ';',
          '&',
          '|',
          '<',
          '<<',
          '>',
          '#',
          ' ',
          '\t',
          '\n',
          '\r\n',
          'if ',
          '[ -z "$OS_A" ]',
          'then ',
          'else ',
          'elif ',
          'fi',
          'read ',
          'echo ',
          '!'
        ),
        fc.string({ maxLength: 3 })
      ),
      { maxLength: 40 }
    )
    .map(parts => parts.join(''))

  test('arbitrary text never throws anything but a UserError', () => {
    fc.assert(
      fc.property(fc.oneof(shellish, fc.string({ unit: 'binary', maxLength: 200 })), text => {
        try {
          parseOpenrc(text)
        } catch (error) {
          expect(error).toBeInstanceOf(UserError)
        }
      }),
      { numRuns: 3000 }
    )
  })
})

/**
 * The same texts sourced by a real bash (`set -a` so plain assignments show in its environment,
 * `read` answered by nothing): what the parser returns must be what the shell leaves.
 */
const bash = spawnSync('bash', ['--version']).status === 0 ? describe : describe.skip
bash('agrees with bash', () => {
  function sourced(text: string, env: Record<string, string> = {}): Record<string, string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openrc-'))
    const file = path.join(dir, 'openrc.sh')
    fs.writeFileSync(file, text)
    const { stdout, status } = spawnSync('bash', ['--noprofile', '--norc', '-c', 'set -a; source "$0" </dev/null >/dev/null 2>&1; env -0', file], {
      env: { ...env, PATH: process.env.PATH ?? '/usr/bin:/bin' },
      encoding: 'utf8'
    })
    fs.rmSync(dir, { recursive: true })
    expect(status).toBe(0)
    const out: Record<string, string> = {}
    for (const entry of stdout.split('\0')) {
      const eq = entry.indexOf('=')
      const name = entry.slice(0, eq)
      if (name.startsWith('OS_') && name !== 'OS_PASSWORD_INPUT') out[name] = entry.slice(eq + 1)
    }
    return out
  }

  test.each(['horizon-v3-openrc.sh', 'horizon-v3-no-region-openrc.sh', 'ovhcloud-openrc.sh', 'horizon-app-cred-openrc.sh'])('%s', name => {
    const { variables, passwordPrompt } = parseOpenrc(fixture(name))
    const { OS_PASSWORD, ...shell } = sourced(fixture(name))
    // The prompt got no answer here, so bash holds an empty OS_PASSWORD where the parser holds none.
    expect(passwordPrompt ? { ...variables, OS_PASSWORD: '' } : variables).toEqual(OS_PASSWORD === undefined ? shell : { ...shell, OS_PASSWORD })
  })

  test.each(FORMS)('%s', (_name, text) => {
    expect(vars(text)).toEqual(sourced(text))
  })

  test.each(EXPANSIONS)('%s', (_name, text, env) => {
    expect(vars(text, env)).toEqual(sourced(text, env))
  })

  test('generated assignments in every quoting form', () => {
    const value = fc.string({ unit: 'grapheme', maxLength: 20 }).filter(s => !/\p{Cc}/u.test(s))
    const form = fc.oneof(
      value.map(v => `'${v.replace(/'/g, "'\\''")}'`),
      value.map(v => `"${v.replace(/[\\"$`]/g, c => `\\${c}`)}"`),
      value.map(v => v.replace(/[^A-Za-z0-9_./:@-]/gu, c => `\\${c}`)),
      fc.constantFrom('$OS_A', '"${OS_A}"', '${OS_A:-"d e"}', '${OS_NOPE-x}', '${OS_A:+alt}', '"$OS_A"$OS_A')
    )
    fc.assert(
      fc.property(fc.array(form, { minLength: 1, maxLength: 3 }), forms => {
        const text = forms.map((f, i) => `export OS_${i === 0 ? 'A' : `V${i}`}=${f}`).join('\n')
        expect(vars(text)).toEqual(sourced(text))
      }),
      { numRuns: 60 }
    )
  })
})

import { UserError } from '../errors.js'

/**
 * Reading an OpenRC file, the shell script Horizon and most providers hand out to be `source`d,
 * WITHOUT running it. A runner must never execute text from a secret, so this understands the few
 * shell forms such files are made of (assignments, `export`, `unset`, quoting, `$VAR` and
 * `${VAR:-default}` expansions, the `if [ -z "$X" ]; then unset X; fi` guard, the password prompt)
 * and refuses everything else by line number. Error messages never quote a line: it may hold a secret.
 */

export interface OpenrcResult {
  /** The `OS_*` variables as a shell that sourced the file would leave them. */
  variables: Record<string, string>
  /**
   * `OS_*` variables the file unsets and does not set again: a caller layering this file over an
   * environment drops them there too, as sourcing would (Horizon unsets the v2 OS_TENANT_* names).
   */
  unset: string[]
  /**
   * OS_PASSWORD comes from the file's interactive prompt (`read -sr OS_PASSWORD_INPUT`), which no one
   * can answer on a runner: the caller takes the password from the `password` input or OS_PASSWORD.
   */
  passwordPrompt: boolean
}

/** An OpenRC is a few hundred bytes and a GitHub secret at most 48 KB; anything near this is not one. */
const MAX_OPENRC_LENGTH = 256 * 1024
/** `${A:-${B:-${C}}}` nesting; bounded so that hostile text cannot exhaust the stack. */
const MAX_NESTING = 16

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/

/** Why a value cannot be known without running the script. */
type Unknowable = 'prompt' | 'substitution' | 'unsupported'

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: string; op?: ':-' | '-' | ':+' | '+'; word?: Part[] }
  /** `$(…)`, `` `…` `` or `$((…))`: never run. */
  | { kind: 'substitution' }
  /** An expansion this parser does not evaluate (`$1`, `${#X}`, `${X%y}`, `$'…'`, …). */
  | { kind: 'unsupported' }

interface Word {
  /** The word as written, for recognising keywords and `NAME=` prefixes (quoting changes meaning). */
  raw: string
  parts: Part[]
}

interface Command {
  line: number
  words: Word[]
  /** Redirections (`>`, `<&`, …) and control operators (`&&`, `|`, `&`, `(`), in order. */
  operators: string[]
}

const CONTROL_OPERATORS = new Set(['&&', '||', '|', '&', '(', ')'])

function notUnderstood(line: number): UserError {
  return new UserError(
    `OpenRC line ${line} is not something the action can read without running it (it reads assignments, export, unset, if [ -z "$VAR" ], echo and read): remove that line or pass its value as an input.`
  )
}

/** Splits the text into simple commands, keeping quoting and expansions as structure. */
class Lexer {
  private pos = 0
  private line = 1
  private readonly commands: Command[] = []
  private words: Word[] = []
  private operators: string[] = []
  private commandLine = 1
  private word: { parts: Part[]; start: number } | undefined

  constructor(private readonly src: string) {}

  run(): Command[] {
    const src = this.src
    while (this.pos < src.length) {
      const c = src[this.pos] as string
      if (c === ' ' || c === '\t') {
        this.endWord()
        this.pos++
      } else if (c === '\n' || c === ';') {
        this.endCommand()
        this.next()
      } else if (c === '\\' && src[this.pos + 1] === '\n') {
        // Backslash-newline vanishes before words are formed: it neither ends nor starts one.
        this.pos++
        this.next()
      } else if (c === '#' && !this.word) {
        while (this.pos < src.length && src[this.pos] !== '\n') this.pos++
      } else if ('&|<>()'.includes(c)) {
        this.endWord()
        this.operator()
      } else {
        this.wordChar()
      }
    }
    this.endCommand()
    return this.commands
  }

  private next(): string {
    const c = this.src[this.pos++] as string
    if (c === '\n') this.line++
    return c
  }

  private startWord(): Part[] {
    if (!this.word) {
      if (this.words.length === 0 && this.operators.length === 0) this.commandLine = this.line
      this.word = { parts: [], start: this.pos }
    }
    return this.word.parts
  }

  private endWord(): void {
    if (!this.word) return
    this.words.push({ raw: this.src.slice(this.word.start, this.pos), parts: this.word.parts })
    this.word = undefined
  }

  private endCommand(): void {
    this.endWord()
    if (this.words.length > 0 || this.operators.length > 0) {
      this.commands.push({ line: this.commandLine, words: this.words, operators: this.operators })
    }
    this.words = []
    this.operators = []
  }

  private operator(): void {
    if (this.words.length === 0 && this.operators.length === 0) this.commandLine = this.line
    const two = this.src.slice(this.pos, this.pos + 2)
    // A here-document's body would be read as commands; nothing in an OpenRC needs one.
    if (two === '<<') throw notUnderstood(this.line)
    const op = ['&&', '||', '>>', '>&', '>|', '<&', '<>'].includes(two) ? two : (this.src[this.pos] as string)
    this.pos += op.length
    this.operators.push(op)
  }

  /** One character (or quoted run, or expansion) of an unquoted word. */
  private wordChar(): void {
    const parts = this.startWord()
    const c = this.src[this.pos] as string
    if (c === "'") {
      pushText(parts, this.singleQuoted())
    } else if (c === '"') {
      this.doubleQuoted(parts, 0)
    } else if (c === '\\') {
      this.pos++
      if (this.pos >= this.src.length) return pushText(parts, '\\')
      // An escaped character stands for itself (backslash-newline never gets here, see `run`).
      pushText(parts, this.next())
    } else if (c === '$') {
      this.dollar(parts, false, 0)
    } else if (c === '`') {
      this.backticks(parts)
    } else {
      pushText(parts, this.next())
    }
  }

  private singleQuoted(): string {
    const opened = this.line
    this.pos++
    const end = this.src.indexOf("'", this.pos)
    if (end < 0) throw unclosedQuote(opened)
    const text = this.src.slice(this.pos, end)
    while (this.pos <= end) this.next()
    return text
  }

  private doubleQuoted(parts: Part[], depth: number): void {
    const opened = this.line
    this.pos++
    for (;;) {
      if (this.pos >= this.src.length) throw unclosedQuote(opened)
      const c = this.src[this.pos] as string
      if (c === '"') {
        this.pos++
        // `""` still makes a word, an empty one: `export OS_X=""` sets OS_X to nothing.
        pushText(parts, '')
        return
      }
      if (c === '\\') {
        const escaped = this.src[this.pos + 1]
        if (escaped === '$' || escaped === '`' || escaped === '"' || escaped === '\\') {
          this.pos += 2
          pushText(parts, escaped)
        } else if (escaped === '\n') {
          this.next()
          this.next()
        } else {
          this.pos++
          pushText(parts, '\\')
        }
      } else if (c === '$') {
        this.dollar(parts, true, depth)
      } else if (c === '`') {
        this.backticks(parts)
      } else {
        pushText(parts, this.next())
      }
    }
  }

  /** At a `$`: a variable, a substitution, something unsupported, or a literal dollar sign. */
  private dollar(parts: Part[], inDouble: boolean, depth: number): void {
    const after = this.src[this.pos + 1] ?? ''
    if (after === '{') {
      this.pos += 2
      this.braced(parts, depth + 1)
    } else if (after === '(') {
      this.pos++
      this.skipParens()
      parts.push({ kind: 'substitution' })
    } else if (/[A-Za-z_]/.test(after)) {
      this.pos++
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos, this.pos + 256))?.[0] as string
      this.pos += name.length
      parts.push({ kind: 'var', name })
    } else if (/[0-9@*#?$!-]/.test(after)) {
      // Positional and special parameters mean nothing when a file is read rather than run.
      this.pos += 2
      parts.push({ kind: 'unsupported' })
    } else if (!inDouble && (after === "'" || after === '"')) {
      // Bash's $'…' and $"…": the quoted text that follows is lexed as usual but the word is refused.
      this.pos++
      parts.push({ kind: 'unsupported' })
    } else {
      this.pos++
      pushText(parts, '$')
    }
  }

  /** After `${`: `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`, `${NAME+word}`. */
  private braced(parts: Part[], depth: number): void {
    if (depth > MAX_NESTING) {
      throw new UserError(`OpenRC line ${this.line} nests \${…} expansions more than ${MAX_NESTING} deep: write the value itself.`)
    }
    const opened = this.line
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos, this.pos + 256))?.[0]
    if (name !== undefined) {
      this.pos += name.length
      if (this.src[this.pos] === '}') {
        this.pos++
        parts.push({ kind: 'var', name })
        return
      }
      const op = ([':-', ':+', '-', '+'] as const).find(o => this.src.startsWith(o, this.pos))
      if (op !== undefined) {
        this.pos += op.length
        parts.push({ kind: 'var', name, op, word: this.braceWord(opened, depth) })
        return
      }
    }
    // `${#X}`, `${X%y}`, `${X:=y}`, `${!X}` and the like: skip to the closing brace, refuse the word.
    this.braceWord(opened, depth)
    parts.push({ kind: 'unsupported' })
  }

  /** The word inside `${NAME:-…}`, up to the unquoted `}` that closes the expansion. */
  private braceWord(opened: number, depth: number): Part[] {
    const parts: Part[] = []
    for (;;) {
      if (this.pos >= this.src.length) throw unclosedBrace(opened)
      const c = this.src[this.pos] as string
      if (c === '}') {
        this.pos++
        return parts
      }
      if (c === "'") pushText(parts, this.singleQuoted())
      else if (c === '"') this.doubleQuoted(parts, depth)
      else if (c === '$') this.dollar(parts, false, depth)
      else if (c === '`') this.backticks(parts)
      else if (c === '\\') {
        this.pos++
        if (this.pos >= this.src.length) throw unclosedBrace(opened)
        const escaped = this.next()
        if (escaped !== '\n') pushText(parts, escaped)
      } else pushText(parts, this.next())
    }
  }

  /** At `(` after a `$`: skips to the matching `)`; the command inside is never looked at further. */
  private skipParens(): void {
    const opened = this.line
    let depth = 0
    while (this.pos < this.src.length) {
      const c = this.src[this.pos] as string
      if (c === "'") {
        this.singleQuoted()
        continue
      }
      if (c === '\\') this.next()
      else if (c === '(') depth++
      else if (c === ')' && --depth === 0) {
        this.pos++
        return
      }
      this.next()
    }
    throw unclosedSubstitution(opened)
  }

  private backticks(parts: Part[]): void {
    const opened = this.line
    this.pos++
    while (this.pos < this.src.length) {
      const c = this.next()
      if (c === '\\') {
        if (this.pos < this.src.length) this.next()
      } else if (c === '`') {
        parts.push({ kind: 'substitution' })
        return
      }
    }
    throw unclosedSubstitution(opened)
  }
}

function pushText(parts: Part[], text: string): void {
  const last = parts[parts.length - 1]
  if (last?.kind === 'text') last.text += text
  else parts.push({ kind: 'text', text })
}

function unclosedQuote(line: number): UserError {
  return new UserError(`OpenRC line ${line} opens a quote that is never closed: close it, or check that the whole file was put in the secret.`)
}

function unclosedBrace(line: number): UserError {
  return new UserError(`OpenRC line ${line} opens a \${ that is never closed with }: fix that expansion.`)
}

function unclosedSubstitution(line: number): UserError {
  return new UserError(`OpenRC line ${line} opens a command substitution that is never closed: remove it and write the value itself.`)
}

interface IfBlock {
  line: number
  /** Whether the commands around the `if` run at all. */
  outerActive: boolean
  /** False when the condition is not one this parser evaluates: then the body counts as taken. */
  known: boolean
  branchActive: boolean
  taken: boolean
  stage: 'condition' | 'body' | 'else'
}

/** Runs the commands against a model of the shell's variables; no command is ever executed. */
class Interpreter {
  /** Variables the file set (a string) or unset (undefined); others are looked up in `env`. */
  private readonly shell = new Map<string, string | undefined>()
  /** Variables whose value cannot be known without running the file: why, and where they got it. */
  private readonly unknowable = new Map<string, { reason: Unknowable; line: number }>([
    // The name every Horizon and OVHcloud prompt reads into; a value of it found in the job's
    // environment is not the answer to the file's question either.
    ['OS_PASSWORD_INPUT', { reason: 'prompt', line: 0 }]
  ])
  /** Insertion-ordered, so `unset` lists names in the order the file first unset them. */
  private readonly unsetNames = new Set<string>()
  private readonly blocks: IfBlock[] = []

  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  run(commands: Command[]): OpenrcResult {
    for (const command of commands) this.command(command)
    const open = this.blocks[this.blocks.length - 1]
    if (open) throw new UserError(`OpenRC line ${open.line} opens an \`if\` that no \`fi\` closes: add the missing fi.`)
    for (const [name, { line }] of this.unknowable) {
      // OS_PASSWORD_INPUT is only the prompt's scratch variable; what matters is where it goes.
      if (name.startsWith('OS_') && name !== 'OS_PASSWORD' && name !== 'OS_PASSWORD_INPUT') {
        throw new UserError(
          `OpenRC line ${line}: ${name} is read from an interactive prompt, which no one can answer on a runner; put the value itself in the secret or pass it as an input.`
        )
      }
    }

    const variables: Record<string, string> = {}
    for (const [name, value] of this.shell) {
      if (name.startsWith('OS_') && value !== undefined) variables[name] = value
    }
    return {
      variables,
      unset: [...this.unsetNames].filter(name => this.shell.has(name) && this.shell.get(name) === undefined),
      passwordPrompt: this.unknowable.get('OS_PASSWORD')?.reason === 'prompt'
    }
  }

  private get active(): boolean {
    const top = this.blocks[this.blocks.length - 1]
    return top ? top.outerActive && top.branchActive : true
  }

  private command({ line, words, operators }: Command): void {
    // `then`, `else` and `if` open a command: `then unset X` is `then` followed by `unset X`.
    for (;;) {
      const keyword = words[0]?.raw
      if (keyword === 'if') return this.openIf(line, words.slice(1), operators)
      if (keyword === 'elif') return this.elif(line, words.slice(1), operators)
      if (keyword === 'fi') {
        if (words.length > 1 || operators.length > 0) throw notUnderstood(line)
        return this.closeIf(line)
      }
      if (keyword === 'then') {
        const top = this.blocks[this.blocks.length - 1]
        if (top?.stage !== 'condition') throw notUnderstood(line)
        top.stage = 'body'
      } else if (keyword === 'else') {
        this.else(line)
      } else {
        break
      }
      words = words.slice(1)
    }
    if (words.length === 0) {
      if (operators.length > 0) throw notUnderstood(line)
      return
    }
    // A condition spread over several commands (`if a; b; then`) is not one this parser evaluates.
    if (this.blocks[this.blocks.length - 1]?.stage === 'condition') throw notUnderstood(line)
    if (!this.active) return

    const name = words[0]?.raw
    if (name === 'echo' || name === 'printf' || name === 'read') {
      // Prompts may redirect (`>&2`, `</dev/tty`), but `echo x && export …` would hide a command.
      if (operators.some(op => CONTROL_OPERATORS.has(op))) throw notUnderstood(line)
      if (name === 'read') this.read(line, words.slice(1))
      return
    }
    if (operators.length > 0) throw notUnderstood(line)
    if (name === 'export') return this.export(line, words.slice(1))
    if (name === 'unset') return this.unset(line, words.slice(1))
    if (words.every(word => ASSIGNMENT.test(word.raw))) {
      for (const word of words) this.assign(line, word)
      return
    }
    throw notUnderstood(line)
  }

  private openIf(line: number, condition: Word[], operators: string[]): void {
    const outerActive = this.active
    // `if cmd >/dev/null; then` or `if [ a ] && [ b ]`: a condition only running it would settle.
    const result = !outerActive ? false : operators.length > 0 ? undefined : this.condition(condition)
    this.blocks.push({
      line,
      outerActive,
      known: result !== undefined,
      branchActive: result ?? true,
      taken: result ?? true,
      stage: 'condition'
    })
  }

  private elif(line: number, condition: Word[], operators: string[]): void {
    const top = this.blocks[this.blocks.length - 1]
    if (top?.stage !== 'body' || operators.length > 0) throw notUnderstood(line)
    if (!top.known) throw unknownBranch(top.line)
    const result = top.outerActive && !top.taken ? this.condition(condition) : false
    if (result === undefined) throw unknownBranch(line)
    top.branchActive = !top.taken && result
    top.taken ||= result
    top.stage = 'condition'
  }

  private else(line: number): void {
    const top = this.blocks[this.blocks.length - 1]
    if (top?.stage !== 'body') throw notUnderstood(line)
    if (!top.known) throw unknownBranch(top.line)
    top.branchActive = !top.taken
    top.taken = true
    top.stage = 'else'
  }

  private closeIf(line: number): void {
    const top = this.blocks[this.blocks.length - 1]
    if (!top || top.stage === 'condition') throw notUnderstood(line)
    this.blocks.pop()
  }

  /**
   * The string tests OpenRC files use, above all Horizon's `[ -z "$OS_REGION_NAME" ]`. Undefined
   * for anything else (file tests, `$(…)`, a prompted value): such an `if` is then ignored and its
   * body read as if the condition held, since the action cannot know better.
   */
  private condition(words: Word[]): boolean | undefined {
    let args = words
    let negate = false
    if (args[0]?.raw === '!') {
      negate = true
      args = args.slice(1)
    }
    const first = args[0]?.raw
    const last = args[args.length - 1]?.raw
    if (first === '[' && last === ']') args = args.slice(1, -1)
    else if (first === '[[' && last === ']]') args = args.slice(1, -1)
    else if (first === 'test') args = args.slice(1)
    else return undefined

    const reasons = new Set<Unknowable>()
    let values = args.map(word => this.expand(word.parts, reasons))
    if (reasons.size > 0) return undefined
    if (values[0] === '!' && values.length > 1) {
      negate = !negate
      values = values.slice(1)
    }
    let result: boolean
    const [a, b, c] = values as [string, string, string]
    if (values.length === 1) result = a !== ''
    else if (values.length === 2 && a === '-z') result = b === ''
    else if (values.length === 2 && a === '-n') result = b !== ''
    else if (values.length === 3 && (b === '=' || b === '==')) result = a === c
    else if (values.length === 3 && b === '!=') result = a !== c
    else return undefined
    return negate ? !result : result
  }

  private export(line: number, words: Word[]): void {
    for (const word of words) {
      if (ASSIGNMENT.test(word.raw)) this.assign(line, word)
      // `export NAME` marks a variable for export: values set either way are read here.
      else if (!NAME.test(word.raw)) throw notUnderstood(line)
    }
  }

  private unset(line: number, words: Word[]): void {
    for (const word of words) {
      if (word.raw === '-v') continue
      if (!NAME.test(word.raw)) throw notUnderstood(line)
      this.unknowable.delete(word.raw)
      this.shell.set(word.raw, undefined)
      if (word.raw.startsWith('OS_')) this.unsetNames.add(word.raw)
    }
  }

  /** `read` fills its variables from the keyboard: their values are the prompt's, not the file's. */
  private read(line: number, words: Word[]): void {
    const names: string[] = []
    for (let i = 0; i < words.length; i++) {
      const raw = (words[i] as Word).raw
      if (raw.startsWith('-') && raw.length > 1) {
        // Options that take an argument (`-p prompt`, `-t 10`, …) consume the next word when last.
        const flags = raw.slice(1)
        const withArgument = [...flags].findIndex(flag => 'adinNptu'.includes(flag))
        if (withArgument === flags.length - 1) i++
        continue
      }
      if (!NAME.test(raw)) throw notUnderstood(line)
      names.push(raw)
    }
    for (const name of names) this.markUnknowable(line, name, 'prompt')
  }

  private assign(line: number, word: Word): void {
    const name = (ASSIGNMENT.exec(word.raw) as RegExpExecArray)[1] as string
    const [first, ...rest] = word.parts
    // The lexer keeps the unquoted `NAME=` at the start of the first text part.
    if (first?.kind !== 'text' || !first.text.startsWith(`${name}=`)) throw notUnderstood(line)
    const parts: Part[] = [{ kind: 'text', text: first.text.slice(name.length + 1) }, ...rest]

    const reasons = new Set<Unknowable>()
    const value = this.expand(parts, reasons)
    const reason = (['substitution', 'unsupported', 'prompt'] as const).find(r => reasons.has(r))
    if (reason) return this.markUnknowable(line, name, reason)
    this.unknowable.delete(name)
    this.shell.set(name, value)
  }

  /**
   * A variable whose value only running the file would give. Harmless while no `OS_*` value uses
   * it (a helper like `DIR=$(dirname "$0")` is never read). An `OS_*` one from a command is refused
   * here; one from a prompt is refused at the end if it is still there (see `run`), except
   * OS_PASSWORD, which the caller fills from the `password` input.
   */
  private markUnknowable(line: number, name: string, reason: Unknowable): void {
    if (name.startsWith('OS_') && reason !== 'prompt') {
      if (reason === 'substitution') {
        throw new UserError(
          `OpenRC line ${line}: ${name} uses command substitution, which the action never runs; put the value itself in the secret.`
        )
      }
      throw new UserError(
        `OpenRC line ${line}: ${name} uses a shell expansion the action does not evaluate (it reads $VAR, \${VAR}, \${VAR:-default} and \${VAR-default}); put the value itself in the secret.`
      )
    }
    this.shell.delete(name)
    this.unknowable.set(name, { reason, line })
  }

  private lookup(name: string, reasons: Set<Unknowable>): string | undefined {
    const unknown = this.unknowable.get(name)
    if (unknown) {
      reasons.add(unknown.reason)
      return undefined
    }
    return this.shell.has(name) ? this.shell.get(name) : this.env[name]
  }

  private expand(parts: Part[], reasons: Set<Unknowable>): string {
    let out = ''
    for (const part of parts) {
      if (part.kind === 'text') out += part.text
      else if (part.kind === 'substitution' || part.kind === 'unsupported') reasons.add(part.kind)
      else {
        const value = this.lookup(part.name, reasons)
        const isSet = value !== undefined
        const isNonEmpty = isSet && value !== ''
        const word = part.word ?? []
        // The default is expanded only when used, as the shell does: `${X:-$(cmd)}` with X set is fine.
        switch (part.op) {
          case ':-':
            out += isNonEmpty ? value : this.expand(word, reasons)
            break
          case '-':
            out += isSet ? value : this.expand(word, reasons)
            break
          case ':+':
            out += isNonEmpty ? this.expand(word, reasons) : ''
            break
          case '+':
            out += isSet ? this.expand(word, reasons) : ''
            break
          default:
            out += value ?? ''
        }
      }
    }
    return out
  }
}

function unknownBranch(line: number): UserError {
  return new UserError(
    `OpenRC line ${line} starts an if/else whose condition the action cannot evaluate without running it: keep only the branch that applies.`
  )
}

/**
 * The `OS_*` variables an OpenRC file sets, read without running it.
 *
 * `env` is what `$VAR` expands to when the file has not set VAR itself, as the sourcing shell's
 * environment would be (`${OS_USER_DOMAIN_NAME:-"Default"}` keeps a value already there).
 */
export function parseOpenrc(text: string, env: Record<string, string | undefined> = {}): OpenrcResult {
  if (text.length > MAX_OPENRC_LENGTH) {
    throw new UserError(`The OpenRC file is ${text.length} characters long (at most ${MAX_OPENRC_LENGTH}): check that the right file is passed.`)
  }
  // Windows editors add a BOM and CRLF; a lone CR is an old Mac line end.
  const normalized = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n')
  return new Interpreter(env).run(new Lexer(normalized).run())
}

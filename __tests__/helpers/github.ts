import { jest } from '@jest/globals'
import * as actionsCore from '@actions/core'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Core } from '../../src/runtime/core.js'

/** Reads a GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE file the way the runner does (both forms). */
export function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line === '') continue
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name, delimiter] = heredoc
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!)
      if (i >= lines.length) throw new Error(`unterminated heredoc for ${name}`)
      result[name!] = value.join('\n')
    } else {
      const eq = line.indexOf('=')
      if (eq <= 0) throw new Error(`malformed line: ${line}`)
      result[line.slice(0, eq)] = line.slice(eq + 1)
    }
  }
  return result
}

/** Hands the step's lines to the suite-wide leak scan (scripts/leak-scan.mjs), when it runs. */
function recordForLeakScan(lines: string[]): void {
  const dir = process.env.LEAK_SCAN_DIR
  if (!dir) return
  const masks = lines.filter(line => line.startsWith('::add-mask::')).map(line => line.slice('::add-mask::'.length))
  fs.appendFileSync(path.join(dir, `unit-${process.pid}.jsonl`), `${JSON.stringify({ masks, lines })}\n`)
}

export interface StepRun {
  /** The real @actions/core, with inputs and state served from the maps given. */
  core: Core
  /** Every line the step wrote to stdout (where workflow commands go), unmasked. */
  lines: string[]
  exported(): Record<string, string>
  outputs(): Record<string, string>
  state(): Record<string, string>
  /** The step's exit code as the runner would see it (setFailed sets process.exitCode). */
  exitCode(): number
  /** Puts stdout, the command files' variables and process.exitCode back; a second call does nothing. */
  restore(): void
}

/**
 * Runs step code against the real @actions/core, as a runner would: command files in a temp
 * directory, stdout captured line by line. Inputs and STATE_* come from the maps given.
 */
export function githubStep(inputs: Record<string, string> = {}, state: Record<string, string> = {}): StepRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'step-'))
  const files = { GITHUB_ENV: 'env', GITHUB_OUTPUT: 'output', GITHUB_STATE: 'state' } as const
  const saved: Record<string, string | undefined> = {}
  for (const [variable, name] of Object.entries(files)) {
    saved[variable] = process.env[variable]
    const file = path.join(dir, name)
    fs.writeFileSync(file, '')
    process.env[variable] = file
  }
  const lines: string[] = []
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(
      ...String(chunk)
        .split(os.EOL)
        .filter(l => l !== '')
    )
    return true
  })
  let restored = false
  const read = (name: string) => parseCommandFile(fs.readFileSync(path.join(dir, name), 'utf8'))
  const core: Core = {
    ...actionsCore,
    getInput: (name: string) => inputs[name] ?? '',
    getState: (name: string) => state[name] ?? ''
  }
  return {
    core,
    lines,
    exported: () => read('env'),
    outputs: () => read('output'),
    state: () => read('state'),
    exitCode: () => Number(process.exitCode ?? 0),
    restore: () => {
      if (restored) return
      restored = true
      write.mockRestore()
      recordForLeakScan(lines)
      process.exitCode = undefined
      for (const [variable, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[variable]
        else process.env[variable] = value
      }
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

import { EventEmitter } from 'node:events'
import { PassThrough } from 'node:stream'
import type { SpawnOptions } from 'node:child_process'
import type { StartProcess } from '../../src/renew/start.js'

/** A process starter that starts nothing: it records what would have been started and what its stdin got. */
export function fakeSpawn(pid = 4242): StartProcess & { started: { command: string; args: string[]; options: SpawnOptions; stdin: () => string }[] } {
  const started: { command: string; args: string[]; options: SpawnOptions; stdin: () => string }[] = []
  const spawn = (command: string, args: string[], options: SpawnOptions) => {
    const stdin = new PassThrough()
    let text = ''
    stdin.on('data', chunk => (text += String(chunk)))
    started.push({ command, args, options, stdin: () => text })
    const child = new EventEmitter() as EventEmitter & { pid: number; stdin: PassThrough; unref(): void }
    child.pid = pid
    child.stdin = stdin
    child.unref = () => undefined
    return child
  }
  return Object.assign(spawn, { started })
}

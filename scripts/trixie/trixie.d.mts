// Types for trixie.mjs (the Debian 13 root of the e2e suite's second stack).

export const TRIXIE_RUN_SH: string

/** The root's path, or why it cannot be used here (a sentence for a skipped test). */
export function trixieRoot(): { root: string } | { reason: string }

/** A command run inside the root by run.sh, as [command, ...args] for spawn. */
export function inTrixie(command: string[], options?: { binds?: string[]; hide?: string[]; keepMounts?: boolean }): [string, ...string[]]

/** The shell text of a `run:` step whose script runs inside the root with the job's environment. */
export function trixieScript(script: string, options?: { binds?: string[]; hide?: string[] }): string

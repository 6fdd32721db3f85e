/**
 * A failure the user can fix. Its message is the one sentence the step prints with `::error::`:
 * what is wrong and what to do about it. Anything that is not a UserError is a bug in the action.
 */
export class UserError extends Error {
  override name = 'UserError'
}

/** Keeps a server-supplied text to one printable line of bounded length before it reaches a log. */
export function oneLine(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

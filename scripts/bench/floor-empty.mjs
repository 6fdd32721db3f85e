// Intentionally empty: scripts/bench/bench.mjs runs it through the runner emulator as an action's
// main step, to time what Node itself costs for an ESM entry file (start, ESM loader, exit).

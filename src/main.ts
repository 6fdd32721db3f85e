import * as core from '@actions/core'
import { runMain } from './main-step.js'

await runMain({ core, env: process.env })

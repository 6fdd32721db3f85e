import * as core from '@actions/core'
import { runPost } from './post-step.js'

await runPost({ core, env: process.env })

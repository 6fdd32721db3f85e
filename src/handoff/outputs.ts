import { catalogRegions, endpointsFor } from '../keystone/catalog.js'
import type { ActionConfig } from '../config/types.js'
import type { Core } from '../runtime/core.js'
import type { Token } from '../keystone/token.js'

/** What the step hands on: its outputs, and the variables later steps of the job see. */

export function setOutputs(core: Core, token: Token, config: Pick<ActionConfig, 'region' | 'interface'>): void {
  core.setOutput('token', token.value)
  core.setOutput('expires-at', token.expiresAt.toISOString())
  core.setOutput('issued-at', token.issuedAt.toISOString())
  core.setOutput('user-id', token.user.id)
  core.setOutput('project-id', token.project?.id ?? '')
  core.setOutput('domain-id', token.domain?.id ?? token.project?.domain?.id ?? '')
  if (token.catalog && config.region !== undefined) {
    core.setOutput('endpoints', JSON.stringify(endpointsFor(token.catalog, config.region, config.interface)))
    core.setOutput('catalog-regions', JSON.stringify(catalogRegions(token.catalog)))
  }
}

export function exportToken(core: Core, environment: Record<string, string>): void {
  for (const [name, value] of Object.entries(environment)) core.exportVariable(name, value)
}

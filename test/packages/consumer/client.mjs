// The client as an ES module app uses it; it must load the package's ES module build (dist/index.mjs).
import assert from 'node:assert/strict';
import * as client from '@agent-pipeline/client';
import { AgentPipelineClient } from '@agent-pipeline/client';
import checks from './client-checks.cjs';

const url = process.argv[2];
assert.match(import.meta.resolve('@agent-pipeline/client'), /\/node_modules\/@agent-pipeline\/client\/dist\/index\.mjs$/);
assert.equal(client.AgentPipelineClient, AgentPipelineClient);
try {
  await checks.runClientChecks(client, { url, flavor: 'client.mjs' });
} catch (err) {
  console.error(err);
  process.exitCode = 1;
}

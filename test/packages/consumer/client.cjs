'use strict';
// The client as a CommonJS app uses it; it must load the package's CommonJS build.
const assert = require('node:assert/strict');
const client = require('@agent-pipeline/client');
const { runClientChecks } = require('./client-checks.cjs');

const url = process.argv[2];
assert.match(require.resolve('@agent-pipeline/client'), /[\\/]node_modules[\\/]@agent-pipeline[\\/]client[\\/]dist[\\/]index\.js$/);
runClientChecks(client, { url, flavor: 'client.cjs' }).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

'use strict';
// HTTP as a consumer's users see it: the app's own controller (POST /greet) and the pipeline's
// routes, with the contract's error bodies although the app registers no filter of its own.
// Run from the app of scripts/test-packages.js: node http.cjs <url>.
const assert = require('node:assert/strict');

const base = process.argv[2];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(method, path, { token, headers = {}, body } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text, what: `${method} ${path} → ${res.status} ${text}` };
}

/** The contract's error body: `{ statusCode, code, message }`, and `details` where there are any. */
function expectError(res, status, code) {
  assert.equal(res.status, status, res.what);
  assert.ok(res.body && typeof res.body === 'object', `JSON error body: ${res.what}`);
  assert.equal(res.body.statusCode, status, `statusCode: ${res.what}`);
  assert.equal(res.body.code, code, `code: ${res.what}`);
  assert.equal(typeof res.body.message, 'string', `message: ${res.what}`);
  const extra = Object.keys(res.body).filter((k) => !['statusCode', 'code', 'message', 'details'].includes(k));
  assert.deepEqual(extra, [], `keys beyond { statusCode, code, message, details }: ${res.what}`);
}

async function main() {
  const checks = [];

  const greet = await call('POST', '/greet', { headers: { 'x-user': 'alice' }, body: { name: 'Ada' } });
  assert.equal(greet.status, 201, greet.what);
  assert.deepEqual(Object.keys(greet.body).sort(), ['runId', 'threadId'], greet.what);
  assert.equal(typeof greet.body.runId, 'string', greet.what);
  assert.equal(typeof greet.body.threadId, 'string', greet.what);
  const { runId } = greet.body;
  checks.push('POST /greet 201 { runId, threadId }');

  let run;
  for (const deadline = Date.now() + 5000; ; await sleep(50)) {
    run = await call('GET', `/runs/${runId}`, { token: 'user:alice' });
    assert.equal(run.status, 200, run.what);
    if (!['queued', 'running', 'waiting'].includes(run.body.status)) break;
    assert.ok(Date.now() < deadline, `run still ${run.body.status} after 5 s: ${run.what}`);
  }
  assert.equal(run.body.status, 'completed', run.what);
  assert.equal(run.body.runId, runId, run.what);
  assert.equal(run.body.agent, 'greeter', run.what);
  assert.equal(run.body.result, 'Hello, Ada!', run.what);
  checks.push('GET /runs/:id (alice) completed');

  expectError(await call('GET', `/runs/${runId}`, { token: 'user:bob' }), 404, 'RUN_NOT_FOUND');
  checks.push('GET /runs/:id (bob) 404 RUN_NOT_FOUND');
  expectError(await call('GET', `/runs/${runId}`, { token: 'nope' }), 401, 'UNAUTHORIZED');
  expectError(await call('GET', `/runs/${runId}`), 401, 'UNAUTHORIZED');
  checks.push('bad/missing token 401 UNAUTHORIZED');

  expectError(await call('POST', '/runs', { token: 'user:alice', body: { agent: 'no-such-agent', input: {} } }), 404, 'UNKNOWN_AGENT');
  checks.push('POST /runs unknown agent 404 UNKNOWN_AGENT { statusCode, code, message }');
  expectError(
    await call('POST', '/runs', { token: 'user:alice', body: { agent: 'greeter', input: { name: 42 } } }),
    400,
    'VALIDATION_FAILED',
  );
  checks.push('POST /runs invalid input 400 VALIDATION_FAILED');

  const waited = await call('POST', '/runs?wait=true', { token: 'user:alice', body: { agent: 'greeter', input: { name: 'Ada' } } });
  assert.equal(waited.status, 200, waited.what);
  assert.equal(waited.body.status, 'completed', waited.what);
  assert.equal(waited.body.result, 'Hello, Ada!', waited.what);
  checks.push('POST /runs?wait=true 200 completed');

  // The DESIGN example's controller passes the x-user header as it is: without one, the start is
  // refused, and the runs of everyone else go on being stored.
  expectError(await call('POST', '/greet', { body: { name: 'Ada' } }), 400, 'VALIDATION_FAILED');
  const after = await call('POST', '/runs?wait=true', { token: 'user:alice', body: { agent: 'greeter', input: { name: 'Bo' } } });
  assert.equal(after.status, 200, after.what);
  assert.equal(after.body.result, 'Hello, Bo!', after.what);
  checks.push('POST /greet without x-user 400 VALIDATION_FAILED, later runs stored');

  const agents = await call('GET', '/agents', { token: 'user:alice' });
  assert.equal(agents.status, 200, agents.what);
  assert.ok(JSON.stringify(agents.body).includes('"greeter"'), agents.what);
  checks.push('GET /agents lists greeter');

  console.log(`http.cjs: ok (${checks.join('; ')})`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

'use strict';
/**
 * What validating one `run:start` costs: the payload and the input walked once (the gateway's
 * pass-through of `input`, one sanitize, size, the agent's class) against the former five walks
 * (sanitize + transform of the whole payload, JSON.stringify, sanitize + transform of the input).
 *
 *   node bench/validation-micro.js [appDir=bench/.app] [big]
 */
const path = require('node:path');
const appDir = path.resolve(process.argv.slice(2).find((a) => a !== 'big') ?? path.join(__dirname, '.app'));
const dist = require('./common').pipelineDistOf(appDir);
const { validatePayload, validateSanitized } = require(path.join(dist, 'validation/validate-payload.js'));
const { sanitizeJson, jsonByteLength } = require(path.join(dist, 'validation/json-payload.js'));
const { RunStartDto } = require(path.join(dist, 'transport/socket/dto/run-start.dto.js'));
// The gateway's hand check of an ordinary start (builds from before it have none).
let checkedRunStart;
try {
  ({ checkedRunStart } = require(path.join(dist, 'transport/socket/dto/run-start.check.js')));
} catch {
  checkedRunStart = undefined;
}
const { EchoInput } = require(path.join(appDir, 'demo-agents/echo.agent.js'));
const pass = new Set(['input']);
const size = process.argv.includes('big') ? 'big' : 'small';
const mk = () =>
  size === 'big'
    ? {
        agent: 'echo',
        input: { text: 'x'.repeat(2000), meta: Array.from({ length: 50 }, (_, i) => ({ i, tags: ['a', 'b'], s: 'v' + i })) },
      }
    : { agent: 'echo', input: { text: 'hello from the benchmark' } };
const before = (p) => {
  const dto = validatePayload(RunStartDto, p, 'run:start payload');
  jsonByteLength(dto.input);
  return { ...validatePayload(EchoInput, dto.input ?? {}, "input of agent 'echo'", 'input') };
};
const after = (p) => {
  const dto = validatePayload(RunStartDto, p, 'run:start payload', undefined, pass);
  const clean = sanitizeJson(dto.input, 'input');
  jsonByteLength(clean);
  return { ...validateSanitized(EchoInput, clean, "input of agent 'echo'") };
};
function time(fn, ms = 1000) {
  const payloads = Array.from({ length: 1000 }, mk);
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) for (let i = 0; i < 1000; i++, n++) fn(payloads[i]);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}
const res = { before: [], after: [] };
for (let r = 0; r < 5; r++)
  for (const [k, f] of [
    ['before', before],
    ['after', after],
  ])
    res[k].push(time(f));
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(
  size,
  'before (5 walks)',
  med(res.before).toFixed(2),
  'µs; after (one sanitize + size + class)',
  med(res.after).toFixed(2),
  'µs',
);
const { plainToInstance } = require('class-transformer');
const { validateSync } = require('class-validator');
const p0 = mk();
const parts = {
  sanitizeTop: (p) => sanitizeJson({ agent: p.agent }, 'payload'),
  plainToInstanceStart: (p) => plainToInstance(RunStartDto, { agent: p.agent }),
  validateSyncStart: (() => {
    const i = plainToInstance(RunStartDto, { agent: 'echo' });
    return () => validateSync(i, { whitelist: true, forbidUnknownValues: false });
  })(),
  plainToInstanceEcho: (p) => plainToInstance(EchoInput, p.input),
  validateSyncEcho: (() => {
    const i = plainToInstance(EchoInput, p0.input);
    return () => validateSync(i, { whitelist: true, forbidUnknownValues: false });
  })(),
  newInstance: () => Object.assign(new RunStartDto(), { agent: 'echo' }),
  // The start payload alone: class-validator (validatePayload) against the hand check the gateway tries first.
  startPayloadClassValidator: (p) => validatePayload(RunStartDto, p, 'run:start payload', undefined, pass),
  ...(checkedRunStart && { startPayloadHandCheck: (p) => checkedRunStart(p) }),
};
for (const [k, f] of Object.entries(parts)) console.log(k, time(f, 500).toFixed(2), 'µs');

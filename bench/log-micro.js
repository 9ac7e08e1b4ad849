'use strict';
/**
 * What a run's log lines cost: Nest's Logger through nestjs-pino (the debug start line built and
 * dropped, the end line written) against a pino child made once, the start line skipped unless
 * debug is on. Both write to an in-memory stream. `node bench/log-micro.js`
 */
const pino = require('pino');
const { Logger: NestLogger } = require('@nestjs/common');
const { Logger: NpLogger, PinoLogger } = require('nestjs-pino');
const root = pino(
  { level: 'info', timestamp: pino.stdTimeFunctions.isoTime },
  {
    n: 0,
    write(s) {
      this.n++;
      this.last = s;
    },
  },
);
PinoLogger.root = root;
NestLogger.overrideLogger(new NpLogger(new PinoLogger({ pinoHttp: { logger: root } }), {}));
const nest = new NestLogger('Runs');
const child = root.child({ context: 'Runs' });
const run = {
  runId: '0190a0b0-0000-7000-8000-000000000000',
  userId: 'echo-1',
  agent: 'echo',
  threadId: '0190a0b0-0000-7000-8000-000000000001',
};
const fields = (r) => ({ runId: r.runId, userId: r.userId, agent: r.agent, threadId: r.threadId });
const oldStartEnd = () => {
  nest.debug({ msg: `Run started (${run.agent})`, ...fields(run) });
  nest.log({ msg: `Run completed (${run.agent})`, ...fields(run), outcome: 'completed', durationMs: 3 });
};
const debugOn = false;
const newStartEnd = () => {
  if (debugOn) child.debug(fields(run), `Run started (${run.agent})`);
  child.info({ msg: `Run completed (${run.agent})`, ...fields(run), outcome: 'completed', durationMs: 3 });
};
function time(fn) {
  const N = 200000;
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const d = process.cpuUsage(c0);
  return ((d.user + d.system) / N).toFixed(2);
}
const a = [],
  b = [];
for (let k = 0; k < 12; k++) {
  if (k % 2) {
    a.push(+time(oldStartEnd));
    b.push(+time(newStartEnd));
  } else {
    b.push(+time(newStartEnd));
    a.push(+time(oldStartEnd));
  }
}
const med = (x) => x.sort((p, q) => p - q)[x.length >> 1];
console.log('Nest Logger (debug built and dropped + info line)', med(a), 'µs | prebuilt pino child, no debug line', med(b), 'µs');

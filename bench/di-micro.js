'use strict';
/**
 * DI microbenchmark: what the per-run request-scoped subtree costs against plain `new`.
 *
 *   node --expose-gc bench/di-micro.js [appDir=dist] [--ms=1500] [--rounds=3] [--json]
 *
 * Boots the real AppModule as an application context (SQLite in memory, no listener) and times,
 * one at a time and awaited like the app does per run:
 *
 * - `moduleRef.resolve`: `ContextIdFactory.create()` + `registerRequestByContextId` +
 *   `ModuleRef.resolve(RequestScopedOrchestrator, contextId)` (which builds the notifier too);
 * - `bridge.createExecution`: the bridge's whole per-run step (ids, context, resolve, agent);
 * - `new`: the same three objects (context, notifier, orchestrator) built by hand, with the
 *   singletons their constructors ask for (read from Nest's own parameter metadata);
 * - `new` inside an awaited async function (the promise overhead alone).
 *
 * Prints ops/s, wall µs per op and CPU µs per op (process CPU time, less sensitive to a busy
 * machine), medians of the rounds; with --json, one JSON line on stdout.
 */
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { randomUUID } = require('node:crypto');

const { microArgs, median, pipelineDistOf } = require('./common');

const { appDir, ms: MS, rounds: ROUNDS, json: JSON_OUT } = microArgs();

async function main() {
  require('reflect-metadata');
  for (const k of ['REDIS_URL', 'DATABASE_URL', 'PORT']) delete process.env[k];
  const { NestFactory, ContextIdFactory, REQUEST } = require('@nestjs/core');
  const { AppModule } = require(path.join(appDir, 'app.module'));
  // The pipeline as the app loads it (node_modules/@agent-pipeline/nestjs → packages/nestjs/dist).
  const pipelineDist = pipelineDistOf(appDir);
  const pipeline = require(pipelineDist);
  const { RunExecutionContext } = require(path.join(pipelineDist, 'execution/run-execution.context'));
  const { AgentWebSocketBridge, RequestScopedOrchestrator, WebSocketNotifier } = pipeline;

  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({
      DATABASE_URL: 'sqlite::memory:',
      JWT_SECRET: 'di-micro-secret-0123456789abcdef',
      RATE_LIMIT_RUNS_PER_MINUTE: '0',
    }),
    { logger: false },
  );
  const bridge = app.get(AgentWebSocketBridge, { strict: false });
  const moduleRef = bridge.moduleRef; // the pipeline module's ModuleRef, as the bridge uses it

  // Constructor arguments from Nest's metadata, so this keeps working when constructors change.
  const SELF = 'self:paramtypes';
  const argsFor = (cls, context, built) => {
    const types = Reflect.getMetadata('design:paramtypes', cls) ?? [];
    const overrides = Reflect.getMetadata(SELF, cls) ?? [];
    return types.map((type, i) => {
      const token = overrides.find((o) => o.index === i)?.param ?? type;
      if (token === REQUEST) return context;
      if (built.has(token)) return built.get(token);
      return app.get(token, { strict: false });
    });
  };
  const newSubtree = () => {
    const context = new RunExecutionContext('di-user', randomUUID(), randomUUID(), 'echo', { text: 'x' });
    const built = new Map();
    const notifier = new WebSocketNotifier(...argsFor(WebSocketNotifier, context, built));
    built.set(WebSocketNotifier, notifier);
    return new RequestScopedOrchestrator(...argsFor(RequestScopedOrchestrator, context, built));
  };

  const variants = {
    'moduleRef.resolve (orchestrator + notifier)': async () => {
      const context = new RunExecutionContext('di-user', randomUUID(), randomUUID(), 'echo', { text: 'x' });
      const contextId = ContextIdFactory.create();
      moduleRef.registerRequestByContextId(context, contextId);
      return moduleRef.resolve(RequestScopedOrchestrator, contextId);
    },
    'bridge.createExecution (whole per-run subtree)': () => bridge.createExecution('di-user', 'echo', { input: { text: 'x' } }),
    'new (same three objects)': newSubtree,
    'new, in an awaited async function': async () => newSubtree(),
  };

  // Sanity: each variant builds a working orchestrator.
  for (const [name, fn] of Object.entries(variants)) {
    const out = await fn();
    const orch = out.orchestrator ?? out;
    if (!(orch instanceof RequestScopedOrchestrator)) throw new Error(`${name} did not build an orchestrator`);
  }

  const results = {};
  for (const name of Object.keys(variants)) results[name] = [];
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      global.gc?.();
      let ops = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const until = t0 + (round === 0 ? 200 : MS); // round 0 warms up
      let t = t0;
      while (t < until) {
        for (let i = 0; i < 200; i++) {
          const r = fn();
          if (r && typeof r.then === 'function') await r;
        }
        ops += 200;
        t = performance.now();
      }
      const cpu = process.cpuUsage(cpu0);
      if (round > 0) results[name].push({ opsPerSec: ops / ((t - t0) / 1000), cpuUsPerOp: (cpu.user + cpu.system) / ops });
    }
  }
  await app.close();

  const out = Object.entries(results).map(([name, rounds]) => {
    const opsPerSec = median(rounds.map((r) => r.opsPerSec));
    return { name, opsPerSec, usPerOp: 1e6 / opsPerSec, cpuUsPerOp: median(rounds.map((r) => r.cpuUsPerOp)), rounds };
  });
  if (JSON_OUT) {
    process.stdout.write(`DI-RESULT ${JSON.stringify(out)}\n`);
  } else {
    for (const r of out) {
      console.log(
        `${r.name.padEnd(50)} ${r.opsPerSec.toFixed(0).padStart(10)} ops/s ${r.usPerOp.toFixed(2).padStart(9)} µs/op (wall) ${r.cpuUsPerOp.toFixed(2).padStart(9)} µs/op (CPU)`,
      );
    }
  }
}

main().catch((err) => {
  console.error(err.stack || err);
  process.exit(1);
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import { openRunStore } from './run-store.factory';
import type { NewRun } from './run-store.interface';
import { SqliteCheckpointer, WRITER_AUTOCHECKPOINT_PAGES } from './sqlite.checkpointer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

/** A run and 4 events of about 4 KB each: 100 of them make about 1.6 MB of WAL, far below the writer's own threshold. */
function bulkyRun(): { run: NewRun; events: AgentEventEnvelope[] } {
  const now = new Date();
  const run: NewRun = {
    runId: uuidv7(),
    threadId: uuidv7(),
    userId: 'alice',
    agent: 'echo',
    input: { text: 'x' },
    createdAt: now,
    nodeId: 'node-a',
    leaseUntil: new Date(now.getTime() + 60_000),
  };
  const events = [1, 2, 3, 4].map((seq): AgentEventEnvelope => ({
    runId: run.runId,
    threadId: run.threadId,
    seq,
    type: 'agent_message_delta',
    agent: 'echo',
    ts: now.toISOString(),
    data: { messageId: 'm', delta: 'y'.repeat(4000) },
  }));
  return { run, events };
}

describe('SqliteCheckpointer', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'checkpointer-spec-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies the WAL into the database file while the writer's own checkpoint stays out of the way", async () => {
    const file = join(dir, 'runs.db');
    const store = await openRunStore(`sqlite:${file}`);
    try {
      const before = statSync(file).size;
      for (let i = 0; i < 100; i++) {
        const { run, events } = bulkyRun();
        await store.write({ runs: [run], events });
      }
      // 1.6 MB is about 400 pages: the writer alone would not checkpoint before 10,000.
      expect(WRITER_AUTOCHECKPOINT_PAGES).toBeGreaterThan(2_000);
      expect(await waitFor(() => statSync(file).size > before + 1_000_000, 5_000)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('stops checkpointing once closed', async () => {
    const file = join(dir, 'plain.db');
    const writer = new Database(file);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('create table t (v text)');
    const checkpointer = SqliteCheckpointer.start(file, () => undefined, 50);
    try {
      await checkpointer.close();
      const before = statSync(file).size;
      const insert = writer.prepare('insert into t (v) values (?)');
      for (let i = 0; i < 200; i++) insert.run('z'.repeat(4000));
      await sleep(400);
      expect(statSync(file).size).toBe(before);
    } finally {
      writer.close();
    }
  });

  it('keeps the process alive while a store closes, so that what follows close() runs', () => {
    // The checkpointer's thread does not hold the process open while idle; closing must. Run in
    // a process of its own (the compiled app, as built by the test setup): there the event loop
    // would otherwise empty during `await store.close()` and the process end silently.
    const dist = resolve(__dirname, '..', '..', 'dist', 'store', 'run-store.factory');
    const script = `require(${JSON.stringify(dist)}).openRunStore(${JSON.stringify(`sqlite:${join(dir, 'close.db')}`)})
      .then((store) => store.close()).then(() => console.log('closed'))`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 }).trim()).toBe('closed');
  });

  it('reports a database it cannot open', async () => {
    const errors: string[] = [];
    const checkpointer = SqliteCheckpointer.start(join(dir, 'missing.db'), (message) => errors.push(message), 50);
    try {
      expect(await waitFor(() => errors.length > 0, 5_000)).toBe(true);
      expect(errors[0]).toMatch(/^cannot open .*missing\.db: /);
    } finally {
      await checkpointer.close();
    }
  });
});

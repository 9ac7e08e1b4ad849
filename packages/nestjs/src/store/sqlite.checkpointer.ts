import { Worker } from 'node:worker_threads';

/**
 * WAL pages after which the writing connection checkpoints by itself (SQLite's
 * `wal_autocheckpoint`, default 1000). Set high on the writer so that checkpoints are left to the
 * {@link SqliteCheckpointer}; it only comes into play if that thread stops or falls behind.
 */
export const WRITER_AUTOCHECKPOINT_PAGES = 10_000;

/** How often the checkpointer copies the WAL back into the database file. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 500;

// The worker's whole program. Plain JavaScript in a string: it runs the same from the compiled
// app and from TypeScript sources (tests), where a separate worker file would not exist as .js.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const describe = (err) => String((err && err.message) || (err && err.code) || err);
let db;
try {
  db = new Database(workerData.filename, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
} catch (err) {
  parentPort.postMessage({ error: 'cannot open ' + workerData.filename + ': ' + describe(err) });
}
let reported = false;
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    reported = false;
  } catch (err) {
    if (!reported) parentPort.postMessage({ error: describe(err) });
    reported = true;
  }
};
const timer = db ? setInterval(checkpoint, workerData.intervalMs) : undefined;
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  if (db) db.close();
  parentPort.close();
});
`;

/**
 * Runs SQLite's WAL checkpoints on a thread of their own.
 *
 * A checkpoint copies the WAL back into the database file and then `fsync`s it. Run by the
 * writing connection (SQLite's default, every 1000 pages), that happens inside a commit, on the
 * event loop: every socket of the node waited for the disk, for up to 14 ms at a time under load.
 * Here a second connection checkpoints in `PASSIVE` mode every `intervalMs`, which never blocks
 * the writer or readers, and the writer's own automatic checkpoint is moved out of the way
 * ({@link WRITER_AUTOCHECKPOINT_PAGES}).
 */
export class SqliteCheckpointer {
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }

  /**
   * Starts checkpointing the database file `filename` (already in WAL mode).
   * @param onError Told the first error of a run of failing checkpoints.
   */
  static start(filename: string, onError: (message: string) => void, intervalMs = DEFAULT_CHECKPOINT_INTERVAL_MS): SqliteCheckpointer {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), filename, intervalMs },
    });
    worker.on('message', (message: { error?: string }) => {
      if (message?.error) onError(message.error);
    });
    // A thread that cannot start (or dies) leaves checkpoints to the writer's safety net.
    worker.on('error', (err) => onError(errorMessage(err)));
    // An idle checkpointer must not keep a process alive that is otherwise done.
    worker.unref();
    return new SqliteCheckpointer(worker);
  }

  /** Stops the thread and closes its connection; resolves once the thread has exited. */
  async close(): Promise<void> {
    // Referenced again while it stops: a caller awaiting this must not see the process exit under it.
    this.worker.ref();
    this.worker.postMessage('close');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, 5000, 'timeout').unref());
    if ((await Promise.race([this.exited, timeout])) === 'timeout') await this.worker.terminate();
  }
}

/** An error from the worker, as text; it may arrive as a plain object. */
function errorMessage(err: unknown): string {
  const { message, code } = (err ?? {}) as { message?: unknown; code?: unknown };
  if (typeof message === 'string' && message) return message;
  return typeof code === 'string' ? code : String(err);
}

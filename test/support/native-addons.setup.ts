/**
 * Jest `setupFiles`: every test file runs in a fresh VM context, but a native addon is loaded once
 * per worker process. better-sqlite3 hands its addon the `SqliteError` class of the first context
 * that loaded it and never again (`addon.isInitialized`); in later files of the same worker that
 * class belongs to a discarded context, and constraint violations then stop surfacing as errors.
 * Clearing the flag makes each file's better-sqlite3 register its own class. Production has one
 * context, so this concerns tests only.
 */

const addon = require('better-sqlite3/build/Release/better_sqlite3.node') as { isInitialized?: boolean };
addon.isInitialized = false;

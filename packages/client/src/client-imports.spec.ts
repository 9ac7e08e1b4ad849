import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The client and the chat page's browser code run outside the server (Node apps, browsers):
 * they may import each other, the shared wire types in src/pipeline/events, and socket.io-client —
 * nothing else of the server.
 */
const SRC = resolve(__dirname, '..');
const ALLOWED_DIRS = ['client', 'pipeline/events'].map((d) => join(SRC, d));
const BROWSER_FILES = ['chat.page.ts', 'run.view.ts', 'chat-page.api.ts', 'thread-list.view.ts'].map((f) => join(SRC, 'web', f));
const ALLOWED_PACKAGES = new Set(['socket.io-client']);

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    found.push(match[1] ?? match[2] ?? match[3]);
  }
  return found;
}

function problemsOf(file: string, extraAllowed: string[] = []): string[] {
  return importsOf(file)
    .filter((spec) => {
      if (!spec.startsWith('.')) return !ALLOWED_PACKAGES.has(spec);
      const target = resolve(dirname(file), spec);
      return ![...ALLOWED_DIRS, ...extraAllowed].some((dir) => target === dir || target.startsWith(dir + '/'));
    })
    .map((spec) => `${relative(SRC, file)} imports ${spec}`);
}

const sources = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    .map((f) => join(dir, f));

describe('client import boundary', () => {
  it('src/client imports only itself, src/pipeline/events and socket.io-client', () => {
    const files = sources(join(SRC, 'client'));
    expect(files.length).toBeGreaterThan(3);
    expect(files.flatMap((f) => problemsOf(f))).toEqual([]);
  });

  it('the shared wire types import nothing but each other', () => {
    const files = sources(join(SRC, 'pipeline', 'events'));
    expect(files.flatMap((f) => importsOf(f).filter((spec) => !spec.startsWith('./')))).toEqual([]);
  });

  it("the chat page's browser code imports only the client, the wire types and its own browser files", () => {
    expect(BROWSER_FILES.flatMap((f) => problemsOf(f, BROWSER_FILES.map((b) => b.replace(/\.ts$/, ''))))).toEqual([]);
  });

  it('catches a forbidden import (self-check)', () => {
    expect(importsOf(join(SRC, 'client', 'agent-pipeline.client.ts'))).toContain('socket.io-client');
  });
});

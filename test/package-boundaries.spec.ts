import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The packages are installed on their own (see scripts/test-packages.js), so their sources must
 * keep to what a tarball can offer: no import of the server (`src/`), no package reaching into
 * another by a relative path, nothing imported that the package does not declare, and no Node
 * built-in in the two packages that run in browsers. Inside a package nothing imports its
 * `index.ts` (the public door); the server and the chat page use the packages by name only.
 */
const ROOT = resolve(__dirname, '..');
const PACKAGES: string[] = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).workspaces.map((dir: string) =>
  dir.split('/').pop(),
);
const BROWSER_PACKAGES = new Set(['protocol', 'client']);
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

interface Import {
  spec: string;
  typeOnly: boolean;
}

/** Every module specifier of a source file, and whether it is a type-only import. */
function importsOf(text: string): Import[] {
  const found: Import[] = [];
  const pattern =
    /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|(?<!typeof\s)import\(\s*['"]([^'"]+)['"]\s*\)|requireOptionalPeer<[^>]*>\(\s*['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(pattern)) {
    const spec = m[3] ?? m[4] ?? m[5] ?? m[6] ?? m[7];
    // A runtime load (require, import(), requireOptionalPeer) is never type-only, whatever its type argument says.
    found.push({ spec, typeOnly: m[2] !== undefined });
  }
  // `typeof import('x')` in type positions names a package too, for types only.
  for (const m of text.matchAll(/typeof import\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ spec: m[1], typeOnly: true });
  return found;
}

function sourcesOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesOf(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const isSpec = (file: string) => /\.(spec|e2e-spec)\.ts$/.test(file);
const packageName = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

function resolveRelative(file: string, spec: string): string {
  const base = resolve(dirname(file), spec);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) if (existsSync(candidate)) return candidate;
  return base;
}

/** What is wrong with the imports of one file of package `pkg`. */
function problemsOf(pkg: string, file: string, text: string, declared: Set<string>): string[] {
  const src = join(ROOT, 'packages', pkg, 'src');
  const where = relative(ROOT, file);
  const problems: string[] = [];
  for (const { spec, typeOnly } of importsOf(text)) {
    if (spec.startsWith('.')) {
      const target = resolveRelative(file, spec);
      if (!target.startsWith(src + '/')) problems.push(`${where} imports ${spec}, outside packages/${pkg}/src`);
      else if (target === join(src, 'index.ts'))
        problems.push(`${where} imports the package's own index (${spec}); import the file itself`);
      continue;
    }
    if (BUILTINS.has(spec)) {
      if (BROWSER_PACKAGES.has(pkg) && !isSpec(file))
        problems.push(`${where} imports the Node built-in ${spec}, but @agent-pipeline/${pkg} runs in browsers`);
      continue;
    }
    const name = packageName(spec);
    if (name === `@agent-pipeline/${pkg}`) {
      problems.push(`${where} imports its own package by name (${spec}); import the file itself`);
      continue;
    }
    // Specs may use the root's dev dependencies; types are erased and come with the peers.
    if (isSpec(file) || typeOnly) continue;
    if (!declared.has(name)) problems.push(`${where} imports ${spec}, which packages/${pkg}/package.json does not declare`);
  }
  return problems;
}

function declaredOf(pkg: string): Set<string> {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8'));
  return new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
}

describe('package boundaries', () => {
  it.each(PACKAGES)('packages/%s imports only itself and what its package.json declares', (pkg) => {
    const files = sourcesOf(join(ROOT, 'packages', pkg, 'src'));
    expect(files.length).toBeGreaterThan(2);
    const declared = declaredOf(pkg);
    expect(files.flatMap((file) => problemsOf(pkg, file, readFileSync(file, 'utf8'), declared))).toEqual([]);
  });

  it('the server imports the packages by name, never by a path into packages/', () => {
    const files = [...sourcesOf(join(ROOT, 'src'))].filter((file) => !isSpec(file));
    const problems = files.flatMap((file) =>
      importsOf(readFileSync(file, 'utf8'))
        .filter(({ spec }) => spec.startsWith('.') && resolve(dirname(file), spec).startsWith(join(ROOT, 'packages')))
        .map(({ spec }) => `${relative(ROOT, file)} imports ${spec}`),
    );
    expect(problems).toEqual([]);
  });

  it("the chat page's browser code imports only the client, the wire contract and its own browser files", () => {
    // Every file of src/web but the Nest parts that serve the page (controller, service, module) runs in the browser.
    const browserFiles = readdirSync(join(ROOT, 'src', 'web'))
      .filter((f) => f.endsWith('.ts') && !isSpec(f) && !/\.(controller|service|module)\.ts$/.test(f))
      .map((f) => join(ROOT, 'src', 'web', f));
    expect(browserFiles.map((f) => relative(ROOT, f))).toEqual(expect.arrayContaining(['src/web/chat.page.ts', 'src/web/run.view.ts']));
    const problems = browserFiles.flatMap((file) =>
      importsOf(readFileSync(file, 'utf8'))
        .filter(({ spec }) =>
          spec.startsWith('.')
            ? !browserFiles.includes(resolveRelative(file, spec))
            : !['@agent-pipeline/client', '@agent-pipeline/protocol'].includes(spec),
        )
        .map(({ spec }) => `${relative(ROOT, file)} imports ${spec}`),
    );
    expect(problems).toEqual([]);
  });

  it('catches each kind of forbidden import (self-check)', () => {
    const file = join(ROOT, 'packages', 'client', 'src', 'agent-pipeline.client.ts');
    const declared = declaredOf('client');
    const text = [
      "import { AppConfig } from '../../../src/config/app.config';",
      "import { AgentService } from '../../nestjs/src/runs/agent.service';",
      "import { readFileSync } from 'node:fs';",
      "import { Injectable } from '@nestjs/common';",
      "import { AgentPipelineClient } from '@agent-pipeline/client';",
      "import { RunEventSequencer } from './index';",
      "import type { Server } from 'socket.io';",
      "import { io } from 'socket.io-client';",
      "const pg = requireOptionalPeer<typeof import('pg')>('pg', 'databaseUrl');",
    ].join('\n');
    expect(problemsOf('client', file, text, declared)).toEqual([
      'packages/client/src/agent-pipeline.client.ts imports ../../../src/config/app.config, outside packages/client/src',
      'packages/client/src/agent-pipeline.client.ts imports ../../nestjs/src/runs/agent.service, outside packages/client/src',
      'packages/client/src/agent-pipeline.client.ts imports the Node built-in node:fs, but @agent-pipeline/client runs in browsers',
      'packages/client/src/agent-pipeline.client.ts imports @nestjs/common, which packages/client/package.json does not declare',
      'packages/client/src/agent-pipeline.client.ts imports its own package by name (@agent-pipeline/client); import the file itself',
      "packages/client/src/agent-pipeline.client.ts imports the package's own index (./index); import the file itself",
      'packages/client/src/agent-pipeline.client.ts imports pg, which packages/client/package.json does not declare',
    ]);
  });
});

import { join, resolve } from 'node:path';
import * as ts from 'typescript';

/**
 * Each package's public API is its `index.ts`, and everything it exports has JSDoc: a consumer
 * reads it in the editor, not in this repository. Also pins what the pipeline keeps internal.
 */
const ROOT = resolve(__dirname, '..');
const ENTRIES = [
  'packages/protocol/src/index.ts',
  'packages/client/src/index.ts',
  'packages/nestjs/src/index.ts',
  'packages/nestjs/src/testing/index.ts',
  'packages/llm/src/index.ts',
  'packages/llm/src/testing/index.ts',
].map((entry) => join(ROOT, entry));

const program = ts.createProgram(ENTRIES, {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  skipLibCheck: true,
  noEmit: true,
  baseUrl: ROOT,
  paths: {
    '@agent-pipeline/protocol': ['packages/protocol/src'],
    '@agent-pipeline/nestjs': ['packages/nestjs/src'],
  },
});
const checker = program.getTypeChecker();

/** Every name an entry exports, with whether its declaration carries a JSDoc comment. */
function exportsOf(entry: string): { name: string; documented: boolean; where: string }[] {
  const source = program.getSourceFile(entry)!;
  const moduleSymbol = checker.getSymbolAtLocation(source)!;
  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declarations = symbol.getDeclarations() ?? [];
    const documented = declarations.some((declaration) => {
      // A `const` is documented on its statement, not on the variable.
      const node = ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration;
      return ts.getJSDocCommentsAndTags(node).length > 0 || symbol.getDocumentationComment(checker).length > 0;
    });
    const where = declarations[0] ? `${declarations[0].getSourceFile().fileName.replace(`${ROOT}/`, '')}` : '?';
    return { name: exported.getName(), documented, where };
  });
}

describe('public API', () => {
  it.each(ENTRIES.map((entry) => [entry.replace(`${ROOT}/`, ''), entry]))('%s: everything exported has JSDoc', (_name, entry) => {
    const exported = exportsOf(entry);
    expect(exported.length).toBeGreaterThan(0);
    expect(exported.filter((e) => !e.documented).map((e) => `${e.name} (${e.where})`)).toEqual([]);
  });

  it('@agent-pipeline/nestjs keeps its internals to itself', () => {
    const names = new Set(exportsOf(ENTRIES[2]).map((e) => e.name));
    for (const name of [
      'AgentPipelineModule',
      'AgentService',
      'Agent',
      'AgentWebSocketBridge',
      'RequestScopedOrchestrator',
      'WebSocketNotifier',
    ]) {
      expect(names).toContain(name);
    }
    for (const internal of [
      'RunAdmission',
      'EventWriteBuffer',
      'ThreadQueueScheduler',
      'RunRegistry',
      'RunCommandBus',
      'SocketRoomPublisher',
      'REDIS_CLIENT',
      'openRunStore',
    ]) {
      expect(names).not.toContain(internal);
    }
  });
});

/** An MCP server reached over Streamable HTTP. */
export interface McpHttpServerOptions {
  /** Names the server in tool names (`mcp__<name>__<tool>`), logs, `/health` and metrics: 1–32 letters, digits, `_` or `-`, no `__`. */
  name: string;
  /** The server's Streamable HTTP endpoint, e.g. `http://localhost:8080/mcp`. */
  url: string;
  /** Sent with every request (an `Authorization` header, an API key). */
  headers?: Record<string, string>;
  /** `true`: every tool of the server asks the user before each call; a list: those tools (their MCP names). @default false */
  needsApproval?: boolean | readonly string[];
}

/** An MCP server started as a child process and spoken to over its stdin/stdout. */
export interface McpStdioServerOptions {
  /** See {@link McpHttpServerOptions.name}. */
  name: string;
  /** The executable, e.g. `node` or `npx`. */
  command: string;
  args?: readonly string[];
  /** Variables of the child, besides the few safe ones the SDK passes on (`PATH`, `HOME`, …). */
  env?: Record<string, string>;
  /** See {@link McpHttpServerOptions.needsApproval}. */
  needsApproval?: boolean | readonly string[];
}

/** One entry of `LLM_MCP_SERVERS` / the `mcpServers` option. */
export type McpServerOptions = McpHttpServerOptions | McpStdioServerOptions;

/** A checked server entry, as the connections use it. */
export type McpServerSettings =
  | {
      readonly kind: 'http';
      readonly name: string;
      readonly url: URL;
      readonly headers: Record<string, string>;
      readonly approval: McpApproval;
    }
  | {
      readonly kind: 'stdio';
      readonly name: string;
      readonly command: string;
      readonly args: string[];
      readonly env: Record<string, string>;
      readonly approval: McpApproval;
    };

/** Which tools of a server ask first: all of them, or those named (MCP names). */
export type McpApproval = true | ReadonlySet<string>;

const SERVER_NAME = /^[A-Za-z0-9_-]{1,32}$/;
const KEYS = new Set(['name', 'url', 'headers', 'command', 'args', 'env', 'needsApproval']);

/**
 * Checks the `mcpServers` entries and refuses the first bad one with a message naming it (its
 * index and name), so that a typo in `LLM_MCP_SERVERS` stops the start instead of silently
 * leaving the assistant without tools.
 */
export function resolveMcpServers(entries: unknown): McpServerSettings[] {
  if (entries === undefined) return [];
  if (!Array.isArray(entries))
    throw new Error(`LlmModule: 'mcpServers' (LLM_MCP_SERVERS) must be an array of servers (got ${describe(entries)}).`);
  const names = new Set<string>();
  return entries.map((entry: unknown, index) => {
    const settings = resolveEntry(entry, `mcpServers[${index}]`);
    if (names.has(settings.name)) {
      throw new Error(`LlmModule: mcpServers[${index}] repeats the name '${settings.name}': every MCP server needs its own name.`);
    }
    names.add(settings.name);
    return settings;
  });
}

function resolveEntry(entry: unknown, at: string): McpServerSettings {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new Error(`LlmModule: ${at} must be an object such as { "name": "orders", "url": "http://…/mcp" } (got ${describe(entry)}).`);
  }
  const e = entry as Record<string, unknown>;
  const fail = (problem: string): never => {
    throw new Error(`LlmModule: ${at}${typeof e.name === 'string' ? ` ('${e.name}')` : ''} ${problem}`);
  };
  if (typeof e.name !== 'string' || !SERVER_NAME.test(e.name) || e.name.includes('__')) {
    fail(`needs a 'name' of 1–32 letters, digits, '_' or '-' without '__' (got ${describe(e.name)}).`);
  }
  const unknown = Object.keys(e).filter((key) => !KEYS.has(key));
  if (unknown.length > 0) fail(`has unknown keys ${unknown.map((k) => `'${k}'`).join(', ')}; allowed: ${[...KEYS].join(', ')}.`);
  const approval = resolveApproval(e.needsApproval, fail);
  const name = e.name as string;
  if ((e.url === undefined) === (e.command === undefined)) fail("needs exactly one of 'url' (Streamable HTTP) or 'command' (stdio).");
  if (e.url !== undefined) {
    if (e.args !== undefined || e.env !== undefined) fail("has 'args' or 'env', which only a stdio server ('command') takes.");
    let url: URL | undefined;
    try {
      url = typeof e.url === 'string' ? new URL(e.url) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail(`needs an http(s) 'url' (got ${describe(e.url)}).`);
    return { kind: 'http', name, url: url!, headers: stringRecord(e.headers, 'headers', fail), approval };
  }
  if (e.headers !== undefined) fail("has 'headers', which only a Streamable HTTP server ('url') takes.");
  if (typeof e.command !== 'string' || e.command.trim() === '') fail(`needs a non-empty 'command' (got ${describe(e.command)}).`);
  if (e.args !== undefined && (!Array.isArray(e.args) || !e.args.every((a) => typeof a === 'string')))
    fail("needs 'args' to be an array of strings.");
  return {
    kind: 'stdio',
    name,
    command: e.command as string,
    args: [...((e.args as string[] | undefined) ?? [])],
    env: stringRecord(e.env, 'env', fail),
    approval,
  };
}

function resolveApproval(value: unknown, fail: (problem: string) => never): McpApproval {
  if (value === undefined || value === false) return new Set();
  if (value === true) return true;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return new Set(value as string[]);
  return fail(`needs 'needsApproval' to be true, false or an array of tool names (got ${describe(value)}).`);
}

function stringRecord(value: unknown, key: string, fail: (problem: string) => never): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    fail(`needs '${key}' to be an object of strings.`);
  }
  return { ...(value as Record<string, string>) };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

import { resolveMcpServers } from './mcp-server.config';
import { approvalEntryCovers, mcpServerOf, mcpToolName } from './mcp-tool.names';
import { mcpCallOutcome } from './mcp-tool.result';

describe('resolveMcpServers', () => {
  it('reads Streamable HTTP and stdio entries with their approvals', () => {
    expect(
      resolveMcpServers([
        { name: 'orders', url: 'http://localhost:8080/mcp', headers: { Authorization: 'Bearer x' }, needsApproval: ['refund'] },
        { name: 'files', command: 'node', args: ['server.js'], env: { ROOT: '/tmp' }, needsApproval: true },
      ]),
    ).toEqual([
      {
        kind: 'http',
        name: 'orders',
        url: new URL('http://localhost:8080/mcp'),
        headers: { Authorization: 'Bearer x' },
        approval: new Set(['refund']),
      },
      { kind: 'stdio', name: 'files', command: 'node', args: ['server.js'], env: { ROOT: '/tmp' }, approval: true },
    ]);
    expect(resolveMcpServers(undefined)).toEqual([]);
  });

  it.each([
    [{ url: 'http://x/mcp' }, "mcpServers[0] needs a 'name' of 1–32 letters"],
    [{ name: 'a__b', url: 'http://x/mcp' }, "mcpServers[0] ('a__b') needs a 'name'"],
    [{ name: 'x' }, "mcpServers[0] ('x') needs exactly one of 'url' (Streamable HTTP) or 'command' (stdio)."],
    [{ name: 'x', url: 'http://x', command: 'node' }, "mcpServers[0] ('x') needs exactly one of 'url'"],
    [{ name: 'x', url: 'ftp://x' }, "mcpServers[0] ('x') needs an http(s) 'url' (got \"ftp://x\")."],
    [{ name: 'x', url: 'http://x', args: [] }, "has 'args' or 'env', which only a stdio server"],
    [{ name: 'x', command: 'node', headers: {} }, "has 'headers', which only a Streamable HTTP server"],
    [{ name: 'x', command: 'node', args: [1] }, "needs 'args' to be an array of strings."],
    [{ name: 'x', command: 'node', env: { A: 1 } }, "needs 'env' to be an object of strings."],
    [{ name: 'x', command: 'node', needsApproval: 'yes' }, "needs 'needsApproval' to be true, false or an array"],
    [{ name: 'x', command: 'node', cmd: 'oops' }, "has unknown keys 'cmd'"],
    ['http://x', 'mcpServers[0] must be an object'],
  ])('refuses %j', (entry, message) => {
    expect(() => resolveMcpServers([entry])).toThrow(message);
  });

  it('refuses a name used twice and a value that is no array', () => {
    expect(() =>
      resolveMcpServers([
        { name: 'a', command: 'x' },
        { name: 'a', url: 'http://x' },
      ]),
    ).toThrow("mcpServers[1] repeats the name 'a'");
    expect(() => resolveMcpServers({ name: 'a' })).toThrow("'mcpServers' (LLM_MCP_SERVERS) must be an array");
  });
});

describe('MCP tool names', () => {
  it('prefixes the server and keeps names a model API accepts', () => {
    expect(mcpToolName('orders', 'lookup')).toBe('mcp__orders__lookup');
    expect(mcpToolName('orders', 'orders.get/v2')).toBe('mcp__orders__orders_get_v2');
    expect(mcpToolName('orders', 'x'.repeat(60))).toBeUndefined();
    expect(mcpServerOf('mcp__orders__lookup')).toBe('orders');
    expect(mcpServerOf('mcp__orders__*')).toBe('orders');
    expect(mcpServerOf('calculate')).toBeUndefined();
  });

  it('matches approval entries: exact names and mcp__<server>__* only', () => {
    expect(approvalEntryCovers('calculate', 'calculate')).toBe(true);
    expect(approvalEntryCovers('mcp__orders__*', 'mcp__orders__refund')).toBe(true);
    expect(approvalEntryCovers('mcp__orders__*', 'mcp__orders2__refund')).toBe(false);
    expect(approvalEntryCovers('mcp__orders__refund', 'mcp__orders__lookup')).toBe(false);
    expect(approvalEntryCovers('calc*', 'calculate')).toBe(false);
  });
});

describe('mcpCallOutcome', () => {
  it('gives structured content, else the text, else the content list', () => {
    expect(mcpCallOutcome('s', 't', { content: [{ type: 'text', text: '5' }], structuredContent: { sum: 5 } })).toEqual({
      result: { sum: 5 },
    });
    expect(
      mcpCallOutcome('s', 't', {
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      }),
    ).toEqual({ result: 'a\nb' });
    const image = { type: 'image', data: 'AAAA', mimeType: 'image/png' };
    expect(mcpCallOutcome('s', 't', { content: [{ type: 'text', text: 'see' }, image] })).toEqual({
      result: [{ type: 'text', text: 'see' }, image],
    });
  });

  it('makes isError the tool error, with a message even when the server gave none', () => {
    expect(mcpCallOutcome('s', 't', { content: [{ type: 'text', text: 'closed' }], isError: true })).toEqual({ error: 'closed' });
    expect(mcpCallOutcome('s', 't', { content: [], isError: true })).toEqual({
      error: "The MCP tool 't' of server 's' reported an error without a message.",
    });
  });
});

import type * as ServerIndex from '@modelcontextprotocol/sdk/server/index.js';
import type * as StreamableHttp from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type * as Types from '@modelcontextprotocol/sdk/types.js';

/** The parts of the MCP SDK the `/mcp` route uses. */
export interface McpServerSdk {
  Server: typeof ServerIndex.Server;
  StreamableHTTPServerTransport: typeof StreamableHttp.StreamableHTTPServerTransport;
  CallToolRequestSchema: typeof Types.CallToolRequestSchema;
  ListToolsRequestSchema: typeof Types.ListToolsRequestSchema;
  ElicitResultSchema: typeof Types.ElicitResultSchema;
  McpError: typeof Types.McpError;
  ErrorCode: typeof Types.ErrorCode;
}

let sdk: McpServerSdk | undefined;

/**
 * The MCP SDK's server side, loaded on the first `/mcp` request: its protocol schemas cost about
 * a third of a second of CPU to load, which a node that never serves MCP should not pay at start.
 */
export function mcpServerSdk(): McpServerSdk {
  if (!sdk) {
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded when first needed, see above */
    const { Server } = require('@modelcontextprotocol/sdk/server/index.js') as typeof ServerIndex;
    const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js') as typeof StreamableHttp;
    const types = require('@modelcontextprotocol/sdk/types.js') as typeof Types;
    /* eslint-enable @typescript-eslint/no-require-imports */
    sdk = {
      Server,
      StreamableHTTPServerTransport,
      CallToolRequestSchema: types.CallToolRequestSchema,
      ListToolsRequestSchema: types.ListToolsRequestSchema,
      ElicitResultSchema: types.ElicitResultSchema,
      McpError: types.McpError,
      ErrorCode: types.ErrorCode,
    };
  }
  return sdk;
}

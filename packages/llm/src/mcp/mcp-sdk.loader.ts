import type * as ClientIndex from '@modelcontextprotocol/sdk/client/index.js';
import type * as Stdio from '@modelcontextprotocol/sdk/client/stdio.js';
import type * as StreamableHttp from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type * as Types from '@modelcontextprotocol/sdk/types.js';

/** The parts of the MCP SDK the assistant's connections use. */
export interface McpClientSdk {
  Client: typeof ClientIndex.Client;
  StdioClientTransport: typeof Stdio.StdioClientTransport;
  getDefaultEnvironment: typeof Stdio.getDefaultEnvironment;
  StreamableHTTPClientTransport: typeof StreamableHttp.StreamableHTTPClientTransport;
  McpError: typeof Types.McpError;
  ErrorCode: typeof Types.ErrorCode;
}

let sdk: McpClientSdk | undefined;

/**
 * The MCP SDK's client side, loaded when the first MCP server is connected: an app with no
 * `mcpServers` does not pay for loading its protocol schemas at start.
 */
export function mcpClientSdk(): McpClientSdk {
  if (!sdk) {
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded when first needed, see above */
    const { Client } = require('@modelcontextprotocol/sdk/client/index.js') as typeof ClientIndex;
    const { StdioClientTransport, getDefaultEnvironment } = require('@modelcontextprotocol/sdk/client/stdio.js') as typeof Stdio;
    const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js') as typeof StreamableHttp;
    const { McpError, ErrorCode } = require('@modelcontextprotocol/sdk/types.js') as typeof Types;
    /* eslint-enable @typescript-eslint/no-require-imports */
    sdk = { Client, StdioClientTransport, getDefaultEnvironment, StreamableHTTPClientTransport, McpError, ErrorCode };
  }
  return sdk;
}

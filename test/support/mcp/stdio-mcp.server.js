// An MCP server over stdio for tests, made of the SDK's own server: `reverse` returns its text reversed.
const { Server } = require('@modelcontextprotocol/sdk/server/index.js');
const { StdioServerTransport } = require('@modelcontextprotocol/sdk/server/stdio.js');
const { CallToolRequestSchema, ListToolsRequestSchema } = require('@modelcontextprotocol/sdk/types.js');

const server = new Server({ name: 'test-stdio', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: [
    {
      name: 'reverse',
      description: 'Reverses a text.',
      inputSchema: { type: 'object', properties: { text: { type: 'string', minLength: 1 } }, required: ['text'] },
    },
  ],
}));
server.setRequestHandler(CallToolRequestSchema, (request) => {
  const text = String(request.params.arguments?.text ?? '');
  return { content: [{ type: 'text', text: `${[...text].reverse().join('')} (from pid ${process.pid}, ${process.env.STDIO_GREETING})` }] };
});
void server.connect(new StdioServerTransport());

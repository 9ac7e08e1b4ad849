import { validateEnvironment } from './validate-environment';

describe('LLM_* configuration', () => {
  it('leaves the assistant off without LLM_BASE_URL', () => {
    expect(validateEnvironment({}).app.llm).toBeUndefined();
    expect(validateEnvironment({ LLM_BASE_URL: '  ', LLM_MODEL: 'x' }).app.llm).toBeUndefined();
  });

  it('reads the settings with their defaults', () => {
    expect(validateEnvironment({ LLM_BASE_URL: 'http://localhost:11434/v1', LLM_MODEL: 'llama3.1' }).app.llm).toEqual({
      baseUrl: 'http://localhost:11434/v1',
      apiKey: undefined,
      model: 'llama3.1',
      systemPrompt: undefined,
      maxSteps: 8,
      timeoutMs: 60_000,
      maxRetries: 2,
      historyMessages: 20,
      maxDeltaEventsPerSecond: 20,
      approvalTools: [],
    });
    expect(
      validateEnvironment({
        LLM_BASE_URL: 'https://api.openai.com/v1',
        LLM_API_KEY: 'sk-1',
        LLM_MODEL: 'gpt-4o-mini',
        LLM_SYSTEM_PROMPT: 'Be brief.',
        LLM_MAX_STEPS: '3',
        LLM_TIMEOUT_MS: '1500',
        LLM_MAX_RETRIES: '0',
        LLM_HISTORY_MESSAGES: '0',
        LLM_MAX_DELTA_EVENTS_PER_SECOND: '100',
        LLM_APPROVAL_TOOLS: ' calculate, send_mail ',
      }).app.llm,
    ).toEqual({
      baseUrl: 'https://api.openai.com/v1',
      apiKey: 'sk-1',
      model: 'gpt-4o-mini',
      systemPrompt: 'Be brief.',
      maxSteps: 3,
      timeoutMs: 1500,
      maxRetries: 0,
      historyMessages: 0,
      maxDeltaEventsPerSecond: 100,
      approvalTools: ['calculate', 'send_mail'],
    });
  });

  it('requires LLM_MODEL with LLM_BASE_URL and refuses bad values, without echoing the key', () => {
    let message = '';
    try {
      validateEnvironment({
        LLM_BASE_URL: 'localhost:11434',
        LLM_API_KEY: 'sk-secret-value',
        LLM_MAX_STEPS: '0',
        LLM_MAX_RETRIES: '11',
        LLM_TIMEOUT_MS: 'soon',
        LLM_MAX_DELTA_EVENTS_PER_SECOND: '0',
        LLM_HISTORY_MESSAGES: '-1',
        LLM_APPROVAL_TOOLS: 'calculate;rm -rf',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('LLM_BASE_URL must be an http:// or https:// URL');
    expect(message).toContain('LLM_MODEL is required when LLM_BASE_URL is set');
    expect(message).toContain('LLM_MAX_STEPS must be an integer between 1 and 100');
    expect(message).toContain('LLM_MAX_RETRIES must be an integer between 0 and 10');
    expect(message).toContain('LLM_TIMEOUT_MS must be a positive integer');
    expect(message).toContain('LLM_MAX_DELTA_EVENTS_PER_SECOND must be an integer between 1 and 1000');
    expect(message).toContain('LLM_HISTORY_MESSAGES must be an integer between 0 and 1000');
    expect(message).toContain('LLM_APPROVAL_TOOLS must be a comma-separated list of tool names');
    expect(message).not.toContain('sk-secret-value');
  });

  it('reads LLM_MCP_SERVERS as JSON for the module to check, refuses text that is not JSON, and reads MCP_SERVER', () => {
    const servers = [{ name: 'orders', url: 'http://localhost:8080/mcp' }];
    const config = validateEnvironment({ LLM_BASE_URL: 'http://x/v1', LLM_MODEL: 'm', LLM_MCP_SERVERS: JSON.stringify(servers) }).app;
    expect(config.llm?.mcpServers).toEqual(servers);
    expect(config.mcpServer).toBe(true);
    expect(validateEnvironment({ MCP_SERVER: 'false' }).app.mcpServer).toBe(false);
    const bad = () =>
      validateEnvironment({ LLM_BASE_URL: 'http://x/v1', LLM_MODEL: 'm', LLM_MCP_SERVERS: '[{headers: {token: "s3cret"}}' });
    expect(bad).toThrow('LLM_MCP_SERVERS must be a JSON array such as [{"name":"orders","url":"http://localhost:8080/mcp"}] (got \'***\')');
    expect(() => validateEnvironment({ MCP_SERVER: 'maybe' })).toThrow('MCP_SERVER must be true or false');
  });

  it('masks the API key if it is reported', () => {
    expect(() => validateEnvironment({ LLM_BASE_URL: 'http://x/v1', LLM_MODEL: 'm', LLM_API_KEY: 42 as unknown as string })).toThrow(
      "LLM_API_KEY must be a string (got '***')",
    );
  });
});

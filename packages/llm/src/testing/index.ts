/**
 * `@agent-pipeline/llm/testing`: a stand-in for an OpenAI-compatible model server, on a real
 * local HTTP port, for tests of the `assistant` agent and of your own tools.
 */
export * from './fake-llm.server';

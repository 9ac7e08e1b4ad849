// What a browser app imports; scripts/test-packages.js bundles it with esbuild, platform 'browser'.
import { AgentPipelineClient, AgentPipelineError, AGENT_EVENT_TYPES } from '@agent-pipeline/client';

export const ready =
  typeof AgentPipelineClient.connect === 'function' && typeof AgentPipelineError === 'function' && AGENT_EVENT_TYPES.length > 0;

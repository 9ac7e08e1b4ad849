import { Inject, Injectable } from '@nestjs/common';
import { LLM_SETTINGS, type LlmSettings } from '../llm.options';
import { approvalEntryCovers, mcpServerOf } from '../mcp/mcp-tool.names';
import { McpToolSource } from '../mcp/mcp-tool.source';
import type { ToolContext } from './tool.interface';
import { ToolRegistry, type RegisteredTool } from './tool.registry';

/** A tool as the model is offered it and a call runs it, whether it is an app's `@Tool()` or an MCP server's. */
export interface OfferedTool {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  /** True for an MCP server's tool: its server checks the arguments against its own schema. */
  readonly remote: boolean;
  execute(args: unknown, context: ToolContext): unknown;
}

/**
 * Every tool a run of the assistant may call, now: the app's `@Tool()` providers, then the tools
 * of the MCP servers that are connected (`mcp__<server>__<tool>`); and which of them ask the user
 * first (`needsApproval`, an MCP server's `needsApproval`, `LLM_APPROVAL_TOOLS` names and
 * `mcp__<server>__*` patterns).
 */
@Injectable()
export class ToolCatalog {
  constructor(
    private readonly registry: ToolRegistry,
    private readonly mcp: McpToolSource,
    @Inject(LLM_SETTINGS) private readonly settings: Pick<LlmSettings, 'approvalTools'>,
  ) {}

  list(): OfferedTool[] {
    return [...this.registry.list().map(offered), ...this.mcp.list().map((tool) => this.remote(tool.name)!)];
  }

  get(name: string): OfferedTool | undefined {
    const local = this.registry.get(name);
    return local ? offered(local) : this.remote(name);
  }

  /** The names a call can use now, for messages. */
  names(): string[] {
    return [...this.registry.names(), ...this.mcp.list().map((tool) => tool.name)];
  }

  /** Whether a call of `name` waits for the user's approval. */
  needsApproval(name: string): boolean {
    if (this.settings.approvalTools.some((entry) => approvalEntryCovers(entry, name))) return true;
    if (this.registry.get(name)) return this.registry.get(name)!.options.needsApproval === true;
    const tool = this.mcp.get(name);
    return tool !== undefined && this.mcp.serverRequiresApproval(tool);
  }

  /**
   * The `LLM_APPROVAL_TOOLS` entries that can never match: an app tool that does not exist, or an
   * `mcp__<server>__…` entry whose server is not configured (its tools may not be listed yet, so
   * only the server is checked).
   */
  unknownApprovalEntries(): string[] {
    const servers = new Set(this.mcp.serverNames());
    return this.settings.approvalTools.filter((entry) => {
      const server = mcpServerOf(entry);
      return server !== undefined && servers.has(server) ? false : !this.registry.get(entry);
    });
  }

  private remote(name: string): OfferedTool | undefined {
    const tool = this.mcp.get(name);
    if (!tool) return undefined;
    return {
      name: tool.name,
      description: tool.description,
      parameters: tool.inputSchema,
      remote: true,
      execute: (args, context) => this.mcp.call(tool, args, context.signal),
    };
  }
}

function offered({ options, handler }: RegisteredTool): OfferedTool {
  return {
    name: options.name,
    description: options.description,
    parameters: options.parameters as Record<string, unknown>,
    remote: false,
    execute: (args, context) => handler.execute(args, context),
  };
}

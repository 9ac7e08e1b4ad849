import { DynamicModule, Module } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import { AGENTS_NAMESPACE } from '@agent-pipeline/protocol';
import { AuthRoutesModule } from '../auth/auth-routes.module';
import type { AgentPipelineModuleExtras } from '../pipeline.options';
import { AgUiTransportModule } from './ag-ui/ag-ui-transport.module';
import { AiSdkTransportModule } from './ai-sdk/ai-sdk-transport.module';
import { HttpTransportModule } from './http/http-transport.module';
import { HTTP_PATH, PipelineBodyParser } from './http/pipeline-body.parser';
import { McpTransportModule } from './mcp/mcp-transport.module';
import { SocketTransportModule } from './socket/socket-transport.module';

/** The modules that hold the pipeline's routes. */
const ROUTE_MODULES = [HttpTransportModule, AgUiTransportModule, AiSdkTransportModule, AuthRoutesModule];

/** Every route of the HTTP API, under one module so that `http.path` prefixes them all. */
@Module({})
class PipelineHttpModule {
  static register(path: string, mcp: boolean): DynamicModule {
    const routes = [...ROUTE_MODULES, ...(mcp ? [McpTransportModule] : [])];
    return {
      module: PipelineHttpModule,
      imports: [
        ...routes,
        // Nest's own way of prefixing a module's routes (keyed by app, so apps in one process differ).
        ...(path !== '' ? [RouterModule.register([{ path, module: PipelineHttpModule, children: routes }])] : []),
      ],
      providers: [{ provide: HTTP_PATH, useValue: path }, PipelineBodyParser],
    };
  }
}

/** `'/x/y'` for `'x/y/'`, `''` for none. */
function normalizePath(path: string | undefined): string {
  const trimmed = (path ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

/** The transports the `socket`, `http` and `mcp` extras ask for, as modules to import. */
export function transportModules(extras: AgentPipelineModuleExtras): DynamicModule[] {
  return [
    ...(extras.socket !== false ? [SocketTransportModule.register(extras.socket?.namespace ?? AGENTS_NAMESPACE)] : []),
    ...(extras.http !== false ? [PipelineHttpModule.register(normalizePath(extras.http?.path), extras.mcp !== false)] : []),
  ];
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import { json } from 'body-parser';
import type { NextFunction, Request, Response } from 'express';
import { PIPELINE_OPTIONS } from '../../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../../pipeline.options';
import { sendHttpError } from './http-error.filter';

/** Injection token of the prefix of the pipeline's routes (`http.path`, normalized: '' or '/x'). */
export const HTTP_PATH = Symbol('HTTP_PATH');

/** Every route of the pipeline that takes a body (the others have none to parse). */
const PIPELINE_BODY_ROUTE =
  /^\/(runs(\/[^/]+\/(cancel|interrupts\/[^/]+))?|ag-ui\/agents\/[^/]+|ai-sdk\/agents\/[^/]+\/chat|auth\/dev-token|mcp)\/?$/;

/**
 * Parses the JSON bodies of the pipeline's own routes with its own limit (`maxInputBytes` plus
 * room for the other fields), and answers a body too large (413 `PAYLOAD_TOO_LARGE`) or not JSON
 * (400 `VALIDATION_FAILED`) with the contract's body. It is installed while the app's providers
 * are made, so it runs before the app's body parser, which then leaves the parsed body alone; the
 * app's own routes keep the app's parser and limit.
 */
@Injectable()
export class PipelineBodyParser {
  private readonly logger = new Logger('AgentPipelineHttp');

  constructor(
    host: HttpAdapterHost,
    private readonly appConfig: ApplicationConfig,
    @Inject(PIPELINE_OPTIONS) options: ResolvedPipelineOptions,
    @Inject(HTTP_PATH) private readonly path: string,
  ) {
    const adapter = host.httpAdapter;
    // No HTTP server (an application context) or another platform: nothing to parse here.
    if (!adapter || adapter.getType() !== 'express') return;
    const parse = json({ limit: options.maxInputBytes + 16 * 1024 });
    adapter.use((req: Request, res: Response, next: NextFunction) => {
      if (req.method !== 'POST' || !this.isPipelineRoute(req.path)) return next();
      parse(req, res, (err?: unknown) => (err ? sendHttpError(res, err, this.logger) : next()));
    });
  }

  private isPipelineRoute(path: string): boolean {
    const globalPrefix = this.appConfig.getGlobalPrefix();
    const prefix = (globalPrefix ? `/${globalPrefix.replace(/^\/+|\/+$/g, '')}` : '') + this.path;
    return path.startsWith(prefix) && PIPELINE_BODY_ROUTE.test(path.slice(prefix.length));
  }
}

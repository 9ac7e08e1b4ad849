import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { PipelineError } from '../errors/pipeline.error';
import { TokenService } from './token.service';

/** The authenticated caller of an HTTP request. */
export interface AuthenticatedRequest extends Request {
  userId: string;
}

const logger = new Logger('BearerAuth');

/** Requires `Authorization: Bearer <token>`; a missing or bad token is 401 `UNAUTHORIZED`. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(private readonly tokens: TokenService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new PipelineError('UNAUTHORIZED', 'Send a token as "Authorization: Bearer <token>".');
    try {
      request.userId = (await this.tokens.verify(match[1])).userId;
    } catch (err) {
      // The reason stays in the log: telling the caller would help someone probing for a token that passes.
      logger.debug(`Refused bearer token on ${request.method} ${request.path}: ${(err as Error).message}`);
      throw new PipelineError('UNAUTHORIZED', 'The bearer token is invalid or expired.');
    }
    return true;
  }
}

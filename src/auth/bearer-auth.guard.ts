import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { PipelineError } from '../pipeline';
import { TokenService } from './token.service';

/** The authenticated caller of an HTTP request. */
export interface AuthenticatedRequest extends Request {
  userId: string;
}

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
    } catch {
      throw new PipelineError('UNAUTHORIZED', 'The bearer token is invalid or expired.');
    }
    return true;
  }
}

import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { toPipelineError } from '../../errors/pipeline.error';

/**
 * Last line of defence for socket commands: whatever escapes a handler (a pipe, an interceptor)
 * is answered through the command's ack callback instead of Nest's `exception` event.
 */
@Catch()
export class SocketAckFilter implements ExceptionFilter {
  private readonly logger = new Logger(SocketAckFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const args = host.getArgs();
    const ack = args.find((a, i) => i > 0 && typeof a === 'function') as ((res: unknown) => void) | undefined;
    const error = toPipelineError(exception);
    if (error.code === 'INTERNAL') this.logger.error(`Unhandled socket command error: ${(exception as Error)?.stack ?? exception}`);
    ack?.({ ok: false, error: error.toBody() });
  }
}

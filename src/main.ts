import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, listen } from './app.factory';

async function bootstrap(): Promise<void> {
  // Some libraries fire and forget promises (the Redis adapter's heartbeats while Redis is down):
  // such a rejection is logged, never allowed to take every user's runs down with the process.
  process.on('unhandledRejection', (reason: unknown) => {
    new Logger('Process').error(`Unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`);
  });
  const app = await createApp();
  await listen(app);
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    new Logger('Bootstrap').log(`${signal} received: finishing runs, then stopping.`);
    // Nest's own shutdown hooks re-raise the signal after closing (exit code 143); we want 0.
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        new Logger('Bootstrap').error(`Shutdown failed: ${(err as Error).stack}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

bootstrap().catch((err: unknown) => {
  // A configuration error is the common case: print its message plainly, without a stack.
  const message = err instanceof Error ? err.message : String(err);
  new Logger('Bootstrap').error(`Could not start: ${message}`);
  process.exit(1);
});

import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000));
  // The actual port (PORT=0 picks a free one), for scripts/test-packages.js.
  console.log(`listening on port ${(app.getHttpServer().address() as AddressInfo).port}`);
}
void bootstrap();

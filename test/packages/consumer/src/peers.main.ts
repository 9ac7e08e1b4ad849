import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AgentPipelineModule } from '@agent-pipeline/nestjs';
import { GreeterAgent } from './app.module';

/**
 * The DESIGN example's pipeline with the settings that need an optional peer taken from the
 * environment: DATABASE_URL=postgres://… needs `pg`, REDIS_URL needs `ioredis`. Neither is installed
 * in the app of scripts/test-packages.js, so the start must fail with a message naming it; with
 * neither set it starts, prints its port and closes (the control case).
 */
@Module({
  imports: [
    AgentPipelineModule.forRoot({
      databaseUrl: process.env.DATABASE_URL ?? 'sqlite::memory:',
      redisUrl: process.env.REDIS_URL,
      auth: { verify: async (token: string) => (token.startsWith('user:') ? { userId: token.slice(5) } : null) },
    }),
  ],
  providers: [GreeterAgent],
})
class PeersModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(PeersModule);
  await app.listen(Number(process.env.PORT ?? 0));
  console.log(`listening on port ${(app.getHttpServer().address() as AddressInfo).port}`);
  await app.close();
}
void bootstrap();

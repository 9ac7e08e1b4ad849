import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule } from '../../auth/auth.module';
import { HealthController } from './health.controller';
import { HttpErrorFilter } from './http-error.filter';

/** The HTTP transport: runs over REST and SSE, health, metrics, docs. */
@Module({
  imports: [AuthModule],
  controllers: [HealthController],
  providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }],
})
export class HttpTransportModule {}

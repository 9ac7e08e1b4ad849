import { Module } from '@nestjs/common';
import { HttpRequestLogger } from './http-request.logger';

/** Holds the one {@link HttpRequestLogger}, shared by the logger module and the request middleware. */
@Module({ providers: [HttpRequestLogger], exports: [HttpRequestLogger] })
export class HttpLoggingModule {}

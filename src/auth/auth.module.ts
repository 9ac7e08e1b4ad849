import { Module } from '@nestjs/common';
import { BearerAuthGuard } from './bearer-auth.guard';
import { DevTokenController } from './dev-token.controller';
import { TokenService } from './token.service';

/** Token verification for sockets and HTTP, and the development token route. */
@Module({
  controllers: [DevTokenController],
  providers: [TokenService, BearerAuthGuard],
  exports: [TokenService, BearerAuthGuard],
})
export class AuthModule {}

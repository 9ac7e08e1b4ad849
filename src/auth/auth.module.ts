import { Module } from '@nestjs/common';
import { AuthConfigController } from './auth-config.controller';
import { BearerAuthGuard } from './bearer-auth.guard';
import { DevTokenController } from './dev-token.controller';
import { TokenService } from './token.service';

/** Token verification for sockets and HTTP, the development token route and `GET /auth/config`. */
@Module({
  controllers: [AuthConfigController, DevTokenController],
  providers: [TokenService, BearerAuthGuard],
  exports: [TokenService, BearerAuthGuard],
})
export class AuthModule {}

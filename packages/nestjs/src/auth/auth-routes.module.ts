import { Module } from '@nestjs/common';
import { AuthConfigController } from './auth-config.controller';
import { DevTokenController } from './dev-token.controller';

/** `GET /auth/config` and, in development auth, `POST /auth/dev-token`. */
@Module({
  controllers: [AuthConfigController, DevTokenController],
})
export class AuthRoutesModule {}

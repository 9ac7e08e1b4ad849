import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module';
import { AgentsGateway } from './agents.gateway';

/** The Socket.IO transport: namespace `/agents`. */
@Module({
  imports: [AuthModule],
  providers: [AgentsGateway],
})
export class SocketTransportModule {}

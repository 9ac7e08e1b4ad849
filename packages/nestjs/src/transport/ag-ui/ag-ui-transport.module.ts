import { Module } from '@nestjs/common';
import { HttpTransportModule } from '../http/http-transport.module';
import { AgUiController } from './ag-ui.controller';

/** AG-UI over HTTP: a view of runs, streamed by the HTTP transport's follower and streamer. */
@Module({
  imports: [HttpTransportModule],
  controllers: [AgUiController],
})
export class AgUiTransportModule {}

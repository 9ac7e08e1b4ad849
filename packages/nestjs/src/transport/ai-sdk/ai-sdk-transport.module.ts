import { Module } from '@nestjs/common';
import { HttpTransportModule } from '../http/http-transport.module';
import { AiSdkChatController } from './ai-sdk-chat.controller';

/** The Vercel AI SDK's UI message stream protocol (`useChat`), over the HTTP transport's follower and SSE streamer. */
@Module({
  imports: [HttpTransportModule],
  controllers: [AiSdkChatController],
})
export class AiSdkTransportModule {}

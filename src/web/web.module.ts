import { Module } from '@nestjs/common';
import { WebAssets } from './web-assets.service';
import { WebController } from './web.controller';

/** The chat page (`GET /`), built on the typed client in `src/client`. */
@Module({
  controllers: [WebController],
  providers: [WebAssets],
})
export class WebModule {}

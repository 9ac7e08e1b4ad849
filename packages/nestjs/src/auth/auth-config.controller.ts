import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthConfigDto } from './auth-config.dto';
import { TokenService } from './token.service';
import { PipelineHttpRoutes } from '../transport/http/pipeline-http.decorator';

/** `GET /auth/config`: public, so a sign-in page can tell whether to offer development tokens. */
@ApiTags('auth')
@PipelineHttpRoutes()
@Controller('auth')
export class AuthConfigController {
  constructor(private readonly tokens: TokenService) {}

  @Get('config')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'How this server authenticates (no token needed): whether development auth is on.' })
  @ApiOkResponse({ type: AuthConfigDto })
  config(): AuthConfigDto {
    return { devAuth: this.tokens.devAuth };
  }
}

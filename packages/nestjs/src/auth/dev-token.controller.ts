import { Body, Controller, HttpCode, NotFoundException, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DevTokenRequestDto, DevTokenResponseDto } from './dev-token.dto';
import { TokenService } from './token.service';
import { PipelineHttpRoutes } from '../transport/http/pipeline-http.decorator';

/** `POST /auth/dev-token`: tokens for anyone, in development auth only (404 otherwise). */
@ApiTags('auth')
@PipelineHttpRoutes()
@Controller('auth')
export class DevTokenController {
  constructor(private readonly tokens: TokenService) {}

  @Post('dev-token')
  @HttpCode(200)
  @ApiOperation({ summary: 'Get a token for any user id (development auth only: none of JWT_SECRET, JWT_JWKS_URL, JWT_PUBLIC_KEY set).' })
  @ApiOkResponse({ type: DevTokenResponseDto })
  issue(@Body() body: DevTokenRequestDto): DevTokenResponseDto {
    if (!this.tokens.devAuth)
      throw new NotFoundException('Development auth is off: tokens come from the configured key or verify(token), not from this route.');
    return { token: this.tokens.sign(body.userId) };
  }
}

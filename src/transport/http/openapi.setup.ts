import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Where the OpenAPI UI is served; the JSON document is at `${OPENAPI_PATH}-json`. */
export const OPENAPI_PATH = 'docs';

/**
 * Serves the OpenAPI document built from the controllers and DTOs: the UI at `/docs`, the JSON
 * at `/docs-json`. Built on first request, so it reflects every module the app ended up with.
 */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Agent pipeline')
    .setDescription(
      'Runs AI agents for many users and streams every run to its user. The same runs are served over Socket.IO ' +
        '(namespace `/agents`) and this HTTP API. Errors are always `{ statusCode, code, message, details? }`.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'HS256 JWT whose `sub` is the user id.' })
    .build();
  SwaggerModule.setup(OPENAPI_PATH, app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: `${OPENAPI_PATH}-json`,
  });
}

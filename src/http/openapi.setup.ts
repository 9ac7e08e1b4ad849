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
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        "A JWT whose `JWT_USER_CLAIM` claim (default `sub`) is the user id: HS256 with the server's `JWT_SECRET`, or " +
        'signed by the identity provider whose keys the server gets from `JWT_JWKS_URL` / `JWT_PUBLIC_KEY`. ' +
        '`GET /auth/config` says whether `POST /auth/dev-token` hands out development tokens.',
    })
    .build();
  SwaggerModule.setup(OPENAPI_PATH, app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: `${OPENAPI_PATH}-json`,
  });
}

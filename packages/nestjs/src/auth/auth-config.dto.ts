import { ApiProperty } from '@nestjs/swagger';

/** What a sign-in page needs to know about this server's authentication. */
export class AuthConfigDto {
  @ApiProperty({
    description:
      'True in development auth: POST /auth/dev-token hands out a token for any user id. False: bring a token from the identity provider.',
  })
  devAuth: boolean;
}

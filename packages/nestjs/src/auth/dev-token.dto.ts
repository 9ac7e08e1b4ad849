import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class DevTokenRequestDto {
  @ApiProperty({ example: 'alice', minLength: 1, maxLength: 128 })
  @IsString()
  @Length(1, 128)
  userId: string;
}

export class DevTokenResponseDto {
  @ApiProperty({ description: 'HS256 JWT whose user claim (JWT_USER_CLAIM, default sub) is userId, valid 12 hours.' })
  token: string;
}

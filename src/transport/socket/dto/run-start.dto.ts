import { IsDefined, IsOptional, IsString, Length, Matches } from 'class-validator';

/** Payload of `run:start` (and body of `POST /runs`). */
export class RunStartDto {
  @IsString()
  @Length(1, 64)
  agent: string;

  /** Any JSON; the agent's own input class validates it further. */
  @IsOptional()
  @IsDefined()
  input?: unknown;

  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(/^[\w.:-]+$/, { message: 'threadId may only contain letters, digits, "_", "-", "." and ":"' })
  threadId?: string;
}

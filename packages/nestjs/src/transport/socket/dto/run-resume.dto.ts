import { IsBoolean, IsDefined, IsOptional, IsString, Length } from 'class-validator';

/** Payload of `run:resume`: answers a run's open interrupt. */
export class RunResumeDto {
  @IsString()
  @Length(1, 64)
  runId: string;

  @IsString()
  @Length(1, 64)
  interruptId: string;

  /** The answer to an `approval` (or `false` to decline an `input`). */
  @IsOptional()
  @IsBoolean()
  approved?: boolean;

  /** The answer to an `input`: any JSON, checked against the question's `responseSchema`. */
  @IsOptional()
  @IsDefined()
  response?: unknown;

  @IsOptional()
  @IsString()
  @Length(0, 1000)
  reason?: string;
}

import { IsString, Length } from 'class-validator';

/** Payload of `run:cancel`. */
export class RunCancelDto {
  @IsString()
  @Length(1, 64)
  runId: string;
}

import { IsInt, IsOptional, IsString, Length, Min } from 'class-validator';

/** Payload of `run:replay`. */
export class RunReplayDto {
  @IsString()
  @Length(1, 64)
  runId: string;

  /** Replay events with `seq` greater than this. @default 0 */
  @IsOptional()
  @IsInt()
  @Min(0)
  afterSeq?: number;
}

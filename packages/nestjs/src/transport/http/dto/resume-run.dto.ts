import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Length } from 'class-validator';
import { INTERRUPT_RESOLUTIONS, type InterruptResolution } from '@agent-pipeline/protocol';

/** Body of `POST /runs/:runId/interrupts/:interruptId`. */
export class ResumeRunDto {
  @ApiPropertyOptional({
    description: 'The answer to an `approval` question (`true` approves, `false` denies); `false` also declines an `input` question.',
  })
  @IsOptional()
  @IsBoolean()
  approved?: boolean;

  @ApiPropertyOptional({
    description: "The answer to an `input` question: any JSON, checked against the question's `responseSchema`.",
    example: { city: 'Lyon' },
  })
  // Taken as sent: the pipeline sanitizes it and checks it against the question's schema.
  @Transform(({ obj }: { obj: Record<string, unknown> }) => obj.response, { toClassOnly: true })
  @IsOptional()
  response?: unknown;

  @ApiPropertyOptional({ description: "Why, in the user's words; carried in `interrupt_resolved`.", maxLength: 1000 })
  @IsOptional()
  @IsString()
  @Length(0, 1000)
  reason?: string;
}

/** Answer of `POST /runs/:runId/interrupts/:interruptId` (and ack of `run:resume`). */
export class ResumedRunDto {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ format: 'uuid' })
  interruptId: string;

  @ApiProperty({
    enum: INTERRUPT_RESOLUTIONS,
    description: '`approved`, `denied` or `answered` (never `expired`: an expired question refuses answers).',
  })
  resolution: InterruptResolution;
}

import { ApiProperty } from '@nestjs/swagger';

/** Answer of `POST /runs/:runId/cancel`. */
export class CancelledRunDto {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ enum: ['cancelled'] })
  status: 'cancelled';
}

import { Tool } from './tool.decorator';
import type { ToolHandler } from './tool.interface';

/** Arguments of the `current_time` tool. */
export interface CurrentTimeArgs {
  /** IANA time zone; UTC when absent. */
  timeZone?: string;
}

/** What `current_time` returns. */
export interface CurrentTime {
  /** The instant, ISO-8601 in UTC. */
  iso: string;
  timeZone: string;
  /** Wall-clock date and time in `timeZone`, e.g. `Thursday 1 January 2026 at 09:30:00`. */
  local: string;
}

/** Tells the model the current date and time, which it cannot know on its own. */
@Tool({
  name: 'current_time',
  description: 'Returns the current date and time, in UTC or in a given IANA time zone such as "Europe/Paris".',
  parameters: {
    type: 'object',
    properties: { timeZone: { type: 'string', description: 'IANA time zone, e.g. "America/New_York"; default UTC' } },
    additionalProperties: false,
  },
})
export class CurrentTimeTool implements ToolHandler<CurrentTimeArgs, CurrentTime> {
  execute({ timeZone = 'UTC' }: CurrentTimeArgs): CurrentTime {
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'medium', hourCycle: 'h23' });
    } catch {
      throw new Error(`Unknown time zone '${timeZone}': use an IANA name such as 'UTC' or 'Europe/Paris'.`);
    }
    const now = new Date();
    return { iso: now.toISOString(), timeZone: format.resolvedOptions().timeZone, local: format.format(now) };
  }
}

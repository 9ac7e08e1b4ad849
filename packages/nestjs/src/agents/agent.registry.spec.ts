import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { IsInt, Max, Min } from 'class-validator';
import { Agent } from './agent.decorator';
import type { AgentHandler } from './agent.interface';
import { AgentRegistry } from './agent.registry';

class TicksInput {
  @IsInt()
  @Min(1)
  @Max(5)
  ticks: number;
}

@Agent({ name: 'ticker', description: 'Ticks.', input: TicksInput, durable: true })
class TickerAgent implements AgentHandler<TicksInput, number> {
  run(): number {
    return 1;
  }
}

@Agent({ name: 'free', description: 'Takes any object.' })
class FreeAgent implements AgentHandler {
  run(): string {
    return 'ok';
  }
}

describe('AgentRegistry.list', () => {
  it('describes each agent with its input schema and whether it is durable', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryModule],
      providers: [AgentRegistry, TickerAgent, FreeAgent],
    }).compile();
    await moduleRef.init();
    const registry = moduleRef.get(AgentRegistry);
    expect(registry.list()).toEqual([
      {
        name: 'ticker',
        description: 'Ticks.',
        inputSchema: { type: 'object', properties: { ticks: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['ticks'] },
        durable: true,
      },
      { name: 'free', description: 'Takes any object.', inputSchema: { type: 'object' }, durable: false },
    ]);
    // Served from the cache: every listing hands out the same schema object.
    expect(registry.list()[0].inputSchema).toBe(registry.list()[0].inputSchema);
    await moduleRef.close();
  });
});

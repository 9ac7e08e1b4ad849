import { IsOptional, IsString } from 'class-validator';
import { validatePayload } from './validate-payload';

class StartPayload {
  @IsString()
  agent: string;

  @IsOptional()
  input?: unknown;
}

describe('validatePayload', () => {
  it('sanitizes and strips the payload, and names every invalid field', () => {
    const dto = validatePayload(
      StartPayload,
      JSON.parse('{"agent":"echo","__proto__":{"x":1},"unknown":2,"input":{"constructor":1}}'),
      'p',
    );
    expect(dto).toEqual({ agent: 'echo', input: {} });
    expect(() => validatePayload(StartPayload, { agent: 3 }, 'run:start payload')).toThrow(
      'Invalid run:start payload: agent must be a string.',
    );
    expect(() => validatePayload(StartPayload, [], 'run:start payload')).toThrow('must be a JSON object; got an array');
  });

  it('leaves pass-through keys as they came, for their consumer to sanitize once', () => {
    const input = JSON.parse('{"constructor":1,"deep":{"a":[1]}}');
    const dto = validatePayload(StartPayload, { agent: 'echo', input, junk: 1 }, 'p', undefined, new Set(['input']));
    expect(dto.input).toBe(input);
    expect(dto).not.toHaveProperty('junk');
    expect(() => validatePayload(StartPayload, { agent: 1, input }, 'p', undefined, new Set(['input']))).toThrow('agent must be a string');
    const polluted = validatePayload(
      StartPayload,
      JSON.parse('{"agent":"echo","__proto__":{"agent":1}}'),
      'p',
      undefined,
      new Set(['input']),
    );
    expect(polluted).toEqual({ agent: 'echo' });
    expect(({} as Record<string, unknown>).agent).toBeUndefined();
  });
});

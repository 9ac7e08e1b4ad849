import { IsString } from 'class-validator';
import type { RegisteredAgent } from '../agents/agent.registry';
import { PipelineError } from '../errors/pipeline.error';
import { AgentInputValidator } from './agent-input.validator';

class TextInput {
  @IsString()
  text: string;
}

const withClass = { options: { name: 'texter', input: TextInput } } as unknown as RegisteredAgent;
const withoutClass = { options: { name: 'any' } } as unknown as RegisteredAgent;

describe('AgentInputValidator', () => {
  const sut = new AgentInputValidator();

  it('sanitizes once into a clean copy: prototype keys dropped, undefined kept as absent', () => {
    const raw = JSON.parse('{"text":"hi","__proto__":{"admin":true},"nested":{"constructor":1,"ok":[1,2]}}');
    const clean = sut.sanitize(raw) as Record<string, unknown>;
    expect(clean).toEqual({ text: 'hi', nested: { ok: [1, 2] } });
    expect(clean).not.toBe(raw);
    expect(sut.sanitize(undefined)).toBeUndefined();
  });

  it('refuses non-JSON values and deep nesting with VALIDATION_FAILED before anything measures them', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    for (const bad of [deep, { b: Buffer.from('x') }, { n: Number.NaN }, () => 1]) {
      expect(() => sut.sanitize(bad)).toThrow(PipelineError);
      try {
        sut.sanitize(bad);
      } catch (err) {
        expect((err as PipelineError).code).toBe('VALIDATION_FAILED');
      }
    }
  });

  it("validates the clean copy against the agent's class and hands the agent a plain object", () => {
    const clean = sut.sanitize({ text: 'hello', extra: 1 });
    const input = sut.validate(withClass, clean);
    expect(input).toEqual({ text: 'hello' });
    expect(Object.getPrototypeOf(input)).toBe(Object.prototype);
    expect(() => sut.validate(withClass, sut.sanitize({ text: 5 }))).toThrow("Invalid input of agent 'texter': text must be a string.");
    expect(() => sut.validate(withClass, sut.sanitize('just text'))).toThrow(
      "The input of agent 'texter' must be a JSON object; got string.",
    );
    expect(() => sut.validate(withClass, undefined)).toThrow('text must be a string');
  });

  it('passes any JSON through for an agent without an input class (null when there is none)', () => {
    expect(sut.validate(withoutClass, sut.sanitize([1, 'a']))).toEqual([1, 'a']);
    expect(sut.validate(withoutClass, undefined)).toBeNull();
  });
});

import { performance } from 'node:perf_hooks';
import { IsString, MaxLength } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { Agent, type AgentHandler, type AgentRunContext } from '@agent-pipeline/nestjs';
import { evaluateExpression } from './expression.parser';

/** Input of the `calculator` agent. */
export class CalculatorInput {
  /** An arithmetic expression such as `(1 + 2) × 3.5`. */
  @JSONSchema({ description: 'An arithmetic expression such as (1 + 2) × 3.5.' })
  @IsString()
  @MaxLength(1000)
  expression: string;
}

/**
 * Evaluates an arithmetic expression through one `calculate` tool call and completes with the
 * number. A bad expression ends the tool call with its error and fails the run.
 */
@Agent({
  name: 'calculator',
  description: 'Evaluates an arithmetic expression: + − × ÷, parentheses and decimals.',
  input: CalculatorInput,
})
export class CalculatorAgent implements AgentHandler<CalculatorInput, number> {
  async run({ input, notifier }: AgentRunContext<CalculatorInput>): Promise<number> {
    const { expression } = input;
    notifier.thinking('Calculating the expression with the calculate tool');
    const toolCallId = notifier.toolExecuting('calculate', { expression });
    const started = performance.now();
    let result: number;
    try {
      result = evaluateExpression(expression);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      notifier.toolCompleted(toolCallId, 'calculate', { error: message }, performance.now() - started);
      throw new Error(`The expression could not be calculated: ${message}.`, { cause: err });
    }
    notifier.toolCompleted(toolCallId, 'calculate', { result }, performance.now() - started);
    return result;
  }
}

import { evaluateExpression } from '../expression.parser';
import { Tool, type ToolHandler } from '@agent-pipeline/llm';

/** Arguments of the `calculate` tool. */
export interface CalculateArgs {
  expression: string;
}

/** Evaluates arithmetic exactly as the `calculator` demo agent does (no `eval`). */
@Tool({
  name: 'calculate',
  description:
    'Evaluates an arithmetic expression and returns the number. Supports + - * / (or − × ÷), ' +
    'parentheses, unary minus and decimals. Use it for any arithmetic instead of calculating yourself.',
  parameters: {
    type: 'object',
    properties: { expression: { type: 'string', description: 'The expression, e.g. "(2 + 3) * 4.5"' } },
    required: ['expression'],
    additionalProperties: false,
  },
})
export class CalculateTool implements ToolHandler<CalculateArgs, number> {
  execute({ expression }: CalculateArgs): number {
    return evaluateExpression(expression);
  }
}

import { evaluateExpression, ExpressionError, MAX_EXPRESSION_DEPTH } from './expression.parser';

function expectError(expression: string, message: string, position: number): void {
  let error: unknown;
  try {
    evaluateExpression(expression);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ExpressionError);
  expect(error).toMatchObject({ name: 'ExpressionError', message, position });
}

describe('evaluateExpression', () => {
  describe('evaluates', () => {
    it.each([
      ['42', 42],
      ['1.25', 1.25],
      ['.5', 0.5],
      ['3.', 3],
      ['007', 7],
      ['2+3', 5],
      ['2+3*4', 14],
      ['2*3+4', 10],
      ['(2+3)*4', 20],
      ['8-3-2', 3],
      ['8/4/2', 1],
      ['2-3+4', 3],
      ['12/3*2', 8],
      ['-(2+3)*2', -10],
      ['-2*-3', 6],
      ['--2', 2],
      ['+-+2', -2],
      ['2--3', 5],
      ['-2+5', 3],
      ['1/4', 0.25],
      ['0.1+0.2', 0.1 + 0.2],
      ['((((1))))', 1],
      ['(1+(2*(3-(4/2))))', 3],
      ['  7 \t*\n 6  ', 42],
      ['7 × 6', 42],
      ['9 ÷ 3', 3],
      ['9 − 3 − 1', 5],
      ['−(1 + 2) × 3 ÷ 9', -1],
      ['1.5 * 4 - .5', 5.5],
      ['0 * -1', 0],
    ])('%s = %p', (expression, expected) => {
      expect(evaluateExpression(expression)).toBe(expected);
    });

    it('returns +0, never -0', () => {
      expect(Object.is(evaluateExpression('-0'), 0)).toBe(true);
      expect(Object.is(evaluateExpression('0 * -5'), 0)).toBe(true);
    });

    it(`accepts nesting up to ${MAX_EXPRESSION_DEPTH} levels`, () => {
      const depth = MAX_EXPRESSION_DEPTH;
      expect(evaluateExpression(`${'('.repeat(depth)}5${')'.repeat(depth)}`)).toBe(5);
      expect(evaluateExpression(`${'-'.repeat(depth)}5`)).toBe(5);
    });
  });

  describe('refuses', () => {
    it.each([
      ['', 'The expression is empty', 0],
      ['   ', 'The expression is empty', 0],
      ['1 + )', "Unexpected ')' at position 4", 4],
      ['1+2)', "Unexpected ')' at position 3", 3],
      ['()', "Unexpected ')' at position 1", 1],
      ['(1+2', "Missing ')' to close the '(' at position 0", 0],
      ['2 * ((3 + 4)', "Missing ')' to close the '(' at position 4", 4],
      ['1 +', "Unexpected end of expression at position 3: expected a number or '('", 3],
      ['-', "Unexpected end of expression at position 1: expected a number or '('", 1],
      ['2 3', "Unexpected number '3' at position 2", 2],
      ['2(3)', "Unexpected '(' at position 1", 1],
      ['(1 2)', "Unexpected number '2' at position 3", 3],
      ['* 2', "Unexpected '*' at position 0", 0],
      ['2 * / 3', "Unexpected '/' at position 4", 4],
      ['2 ^ 3', "Unexpected character '^' at position 2", 2],
      ['1e5', "Unexpected character 'e' at position 1", 1],
      ['abc', "Unexpected character 'a' at position 0", 0],
      ['1 + 😀', "Unexpected character '😀' at position 4", 4],
      ['1.2.3', "Invalid number '1.2.3' at position 0", 0],
      ['1 + .', "Invalid number '.' at position 4", 4],
      ['1/0', 'Division by zero at position 1', 1],
      ['5 ÷ (2 - 2)', 'Division by zero at position 2', 2],
      ['0/0', 'Division by zero at position 1', 1],
    ])('%j: %s', (expression, message, position) => {
      expectError(expression, message, position);
    });

    it('numbers and results that are not finite', () => {
      const huge = '9'.repeat(200);
      expectError('9'.repeat(400), 'The number at position 0 is too large', 0);
      expectError(`${huge} * ${huge}`, "The result of '*' at position 201 is too large to be a finite number", 201);
      const max = `1${'0'.repeat(308)}`; // 1e308, just below Number.MAX_VALUE
      expect(evaluateExpression(max)).toBe(1e308);
      expectError(`${max} × 2`, "The result of '×' at position 310 is too large to be a finite number", 310);
    });

    it(`nesting deeper than ${MAX_EXPRESSION_DEPTH} levels, without overflowing the stack`, () => {
      const depth = MAX_EXPRESSION_DEPTH + 1;
      expect(() => evaluateExpression(`${'('.repeat(depth)}1${')'.repeat(depth)}`)).toThrow(
        new ExpressionError(`The expression nests deeper than ${MAX_EXPRESSION_DEPTH} levels at position ${depth - 1}`, depth - 1),
      );
      expect(() => evaluateExpression(`${'-'.repeat(depth)}1`)).toThrow(`nests deeper than ${MAX_EXPRESSION_DEPTH} levels`);
      expect(() => evaluateExpression('('.repeat(100_000))).toThrow(ExpressionError);
    });

    it('counts depth, not the number of parentheses', () => {
      const siblings = Array.from({ length: 500 }, () => '(1)').join('+');
      expect(evaluateExpression(siblings)).toBe(500);
    });
  });
});

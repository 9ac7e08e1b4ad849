/** Why an expression could not be evaluated; `position` is the 0-based index of the offending character. */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';

  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/**
 * How deep parentheses and unary signs may nest. The parser recurses once per level, so the limit
 * keeps a hostile input such as 10 000 `(` from overflowing the stack.
 */
export const MAX_EXPRESSION_DEPTH = 100;

type Operator = '+' | '-' | '*' | '/';

type Token =
  | { kind: 'number'; value: number; text: string; position: number }
  | { kind: 'operator'; op: Operator; text: string; position: number }
  | { kind: 'paren'; text: '(' | ')'; position: number };

const OPERATORS: Readonly<Record<string, Operator>> = {
  '+': '+',
  '-': '-',
  '\u2212': '-', // − minus sign
  '*': '*',
  '\u00d7': '*', // × multiplication sign
  '/': '/',
  '\u00f7': '/', // ÷ division sign
};

const NUMBER = /^(?:\d+\.?\d*|\.\d+)$/;

/**
 * Evaluates an arithmetic expression: `+ - * /` (or `− × ÷`), unary `+`/`-`, parentheses, decimal
 * numbers (`2`, `1.25`, `.5`) and whitespace, with the usual precedence and left associativity.
 * Never uses `eval`.
 *
 * @throws ExpressionError for empty input, an unexpected character or token, unbalanced
 * parentheses, nesting deeper than {@link MAX_EXPRESSION_DEPTH}, division by zero or a result
 * that is not a finite number. Positions in messages are 0-based.
 */
export function evaluateExpression(expression: string): number {
  const result = new ExpressionParser(tokenize(expression), expression.length).parse();
  return result === 0 ? 0 : result; // -0 would surprise a reader of `0 * -1`
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i];
    if (/\s/.test(char)) {
      i++;
    } else if (char === '(' || char === ')') {
      tokens.push({ kind: 'paren', text: char, position: i });
      i++;
    } else if (char in OPERATORS) {
      tokens.push({ kind: 'operator', op: OPERATORS[char], text: char, position: i });
      i++;
    } else if (/[\d.]/.test(char)) {
      const start = i;
      while (i < source.length && /[\d.]/.test(source[i])) i++;
      const text = source.slice(start, i);
      if (!NUMBER.test(text)) throw new ExpressionError(`Invalid number '${text}' at position ${start}`, start);
      const value = Number(text);
      if (!Number.isFinite(value)) throw new ExpressionError(`The number at position ${start} is too large`, start);
      tokens.push({ kind: 'number', value, text, position: start });
    } else {
      const shown = String.fromCodePoint(source.codePointAt(i) ?? 0);
      throw new ExpressionError(`Unexpected character '${shown}' at position ${i}`, i);
    }
  }
  return tokens;
}

/**
 * Recursive descent over the grammar
 *
 *     expression := term (('+' | '-') term)*
 *     term       := factor (('*' | '/') factor)*
 *     factor     := ('+' | '-') factor | number | '(' expression ')'
 */
class ExpressionParser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly end: number,
  ) {}

  parse(): number {
    if (this.tokens.length === 0) throw new ExpressionError('The expression is empty', 0);
    const value = this.expression();
    const extra = this.peek();
    if (extra) throw this.unexpected(extra);
    return value;
  }

  private expression(): number {
    let value = this.term();
    for (let token = this.peek(); token?.kind === 'operator' && (token.op === '+' || token.op === '-'); token = this.peek()) {
      this.index++;
      value = this.apply(token, value, this.term());
    }
    return value;
  }

  private term(): number {
    let value = this.factor();
    for (let token = this.peek(); token?.kind === 'operator' && (token.op === '*' || token.op === '/'); token = this.peek()) {
      this.index++;
      value = this.apply(token, value, this.factor());
    }
    return value;
  }

  private factor(): number {
    const token = this.peek();
    if (!token) throw new ExpressionError(`Unexpected end of expression at position ${this.end}: expected a number or '('`, this.end);
    if (token.kind === 'number') {
      this.index++;
      return token.value;
    }
    if (token.kind === 'operator' && (token.op === '+' || token.op === '-')) {
      this.index++;
      const operand = this.nested(token.position, () => this.factor());
      return token.op === '-' ? -operand : operand;
    }
    if (token.kind === 'paren' && token.text === '(') {
      this.index++;
      const value = this.nested(token.position, () => this.expression());
      const close = this.peek();
      if (!close) {
        throw new ExpressionError(`Missing ')' to close the '(' at position ${token.position}`, token.position);
      }
      if (close.kind !== 'paren' || close.text !== ')') throw this.unexpected(close);
      this.index++;
      return value;
    }
    throw this.unexpected(token);
  }

  private nested(position: number, parse: () => number): number {
    if (++this.depth > MAX_EXPRESSION_DEPTH) {
      throw new ExpressionError(`The expression nests deeper than ${MAX_EXPRESSION_DEPTH} levels at position ${position}`, position);
    }
    const value = parse();
    this.depth--;
    return value;
  }

  private apply(token: Token & { kind: 'operator' }, left: number, right: number): number {
    if (token.op === '/' && right === 0) throw new ExpressionError(`Division by zero at position ${token.position}`, token.position);
    const value = token.op === '+' ? left + right : token.op === '-' ? left - right : token.op === '*' ? left * right : left / right;
    if (!Number.isFinite(value)) {
      throw new ExpressionError(
        `The result of '${token.text}' at position ${token.position} is too large to be a finite number`,
        token.position,
      );
    }
    return value;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private unexpected(token: Token): ExpressionError {
    const what = token.kind === 'number' ? `number '${token.text}'` : `'${token.text}'`;
    return new ExpressionError(`Unexpected ${what} at position ${token.position}`, token.position);
  }
}

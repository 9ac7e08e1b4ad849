import { CalculateTool } from './calculate.tool';

describe('calculate tool', () => {
  it('evaluates with the calculator parser and throws its error', () => {
    const sut = new CalculateTool();
    expect(sut.execute({ expression: '(2 + 3) × 4 − 1.5' })).toBe(18.5);
    expect(() => sut.execute({ expression: '2 +' })).toThrow('Unexpected end of expression');
  });
});

import { DeltaBatcher } from './delta.batcher';

describe('DeltaBatcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function setup(rate = 10, controller = new AbortController()) {
    const sent: { at: number; messageId: string; delta: string }[] = [];
    const sut = new DeltaBatcher(
      (messageId, delta) => sent.push({ at: Date.now(), messageId, delta }),
      rate,
      controller.signal,
      () => Date.now(),
    );
    return { sut, sent, controller };
  }

  it('sends pieces at once while under the rate', () => {
    const { sut, sent } = setup(10);
    sut.push('m1', 'a');
    jest.advanceTimersByTime(100);
    sut.push('m1', 'b');
    jest.advanceTimersByTime(250);
    sut.push('m1', 'c');
    expect(sent.map((s) => s.delta)).toEqual(['a', 'b', 'c']);
  });

  it('batches a burst so that events stay at least 1000/rate ms apart, losing nothing', async () => {
    const { sut, sent } = setup(10);
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(20);
    // 900 one-character pieces, one per ms: far above 10 events per second.
    for (const char of text) {
      sut.push('m1', char);
      jest.advanceTimersByTime(1);
    }
    const flushed = sut.flush();
    await jest.advanceTimersByTimeAsync(100);
    await flushed;

    expect(sent.map((s) => s.delta).join('')).toBe(text);
    for (let i = 1; i < sent.length; i++) expect(sent[i].at - sent[i - 1].at).toBeGreaterThanOrEqual(100);
    expect(sent.length).toBeLessThanOrEqual(Math.ceil(text.length / 100) + 1);
    expect(sent.length).toBeGreaterThan(1);
    expect(new Set(sent.map((s) => s.messageId))).toEqual(new Set(['m1']));
  });

  it('flush waits for the rate, then sends what is queued', async () => {
    const { sut, sent } = setup(4);
    sut.push('m1', 'a');
    sut.push('m1', 'b');
    let done = false;
    const flushed = sut.flush().then(() => (done = true));
    await jest.advanceTimersByTimeAsync(249);
    expect(done).toBe(false);
    expect(sent.map((s) => s.delta)).toEqual(['a']);
    await jest.advanceTimersByTimeAsync(1);
    await flushed;
    expect(sent.map((s) => [s.at, s.delta])).toEqual([
      [sent[0].at, 'a'],
      [sent[0].at + 250, 'b'],
    ]);
  });

  it('never joins pieces of two messages', async () => {
    const { sut, sent } = setup(1);
    sut.push('m1', 'a');
    sut.push('m1', 'b');
    sut.push('m2', 'c');
    const flushed = sut.flush();
    await jest.advanceTimersByTimeAsync(1000);
    await flushed;
    expect(sent.map((s) => [s.messageId, s.delta])).toEqual([
      ['m1', 'a'],
      ['m1', 'b'],
      ['m2', 'c'],
    ]);
  });

  it('sends nothing more once the run aborts; flush rejects', async () => {
    const { sut, sent, controller } = setup(10);
    sut.push('m1', 'a');
    sut.push('m1', 'b');
    controller.abort('user');
    jest.advanceTimersByTime(1000);
    sut.push('m1', 'c');
    await expect(sut.flush()).resolves.toBeUndefined();
    sut.push('m1', 'd');
    expect(sent.map((s) => s.delta)).toEqual(['a']);

    const other = setup(10);
    other.sut.push('m1', 'a');
    other.sut.push('m1', 'b');
    const flushed = other.sut.flush();
    other.controller.abort('user');
    await expect(flushed).rejects.toMatchObject({ name: 'AbortError' });
    expect(other.sent.map((s) => s.delta)).toEqual(['a']);
  });

  it('dispose drops what is queued', () => {
    const { sut, sent } = setup(10);
    sut.push('m1', 'a');
    sut.push('m1', 'b');
    sut.dispose();
    jest.advanceTimersByTime(1000);
    expect(sent.map((s) => s.delta)).toEqual(['a']);
  });
});

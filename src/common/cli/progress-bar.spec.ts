import { ProgressBar, renderBar } from './progress-bar';

function output(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, columns: 80, writes, write: (text: string) => writes.push(text) };
}

describe('renderBar', () => {
  it('fills the bar in proportion and shows the figures', () => {
    expect(renderBar(0, 10, 10)).toBe('[>         ]   0% 0/10');
    expect(renderBar(5, 10, 10)).toBe('[=====>    ]  50% 5/10');
    expect(renderBar(10, 10, 10)).toBe('[==========] 100% 10/10');
    expect(renderBar(0, 0, 4)).toBe('[====] 100% 0/0');
  });
});

describe('ProgressBar', () => {
  it('redraws one line on a terminal, at most every 100 ms, always at the end', () => {
    const out = output(true);
    let now = 0;
    const bar = new ProgressBar(out, 'import', () => now);
    bar.update(1, 4);
    now = 50;
    bar.update(2, 4);
    now = 200;
    bar.update(3, 4);
    now = 210;
    bar.update(4, 4);
    bar.finish();
    expect(out.writes).toHaveLength(4);
    expect(out.writes.slice(0, 3).every((w) => w.startsWith('\rimport ['))).toBe(true);
    expect(out.writes[2]).toContain('100% 4/4');
    expect(out.writes[3]).toBe('\n');
  });

  it('writes plain lines elsewhere: the first, one per tenth, and one every 5 s while slow', () => {
    const out = output(false);
    let now = 0;
    const bar = new ProgressBar(out, 'import', () => now);
    for (let done = 1; done <= 1000; done++) bar.update(done, 1000);
    expect(out.writes).toHaveLength(11);
    expect(out.writes[0]).toBe('import: 1/1000 (0%)\n');
    expect(out.writes[1]).toBe('import: 100/1000 (10%)\n');
    expect(out.writes[10]).toBe('import: 1000/1000 (100%)\n');

    const slow = output(false);
    const slowBar = new ProgressBar(slow, 'import', () => now);
    now = 0;
    slowBar.update(1, 1000);
    now = 6_000;
    slowBar.update(2, 1000);
    now = 7_000;
    slowBar.update(3, 1000);
    slowBar.finish();
    expect(slow.writes).toEqual(['import: 1/1000 (0%)\n', 'import: 2/1000 (0%)\n']);
  });
});

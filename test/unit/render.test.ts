import { describe, expect, it } from 'vitest';
import { render, renderUnknown } from '../../src/nagios/render';
import type { Result } from '../../src/nagios/result';
import { State } from '../../src/nagios/state';

const result = (over: Partial<Result>): Result => ({ check: 'table', state: State.OK, summary: '', details: [], perfdata: [], ...over });

describe('render', () => {
  it('leads with the worst finding and keeps perfdata on the first line', () => {
    const out = render(
      [
        result({
          check: 'table',
          state: State.OK,
          summary: '10.0% of table used (1 of 10 entries)',
          perfdata: [{ label: 'entries', value: 1 }],
        }),
        result({
          check: 'counters',
          state: State.CRITICAL,
          summary: '16 packets dropped since last check',
          perfdata: [{ label: 'drop', value: 16, uom: 'c' }],
        }),
      ],
      0,
    );
    expect(out.state).toBe(State.CRITICAL);
    expect(out.text).toBe(
      'CONNTRACK CRITICAL - 16 packets dropped since last check; 10.0% of table used (1 of 10 entries) | entries=1 drop=16c\n',
    );
  });

  it('shows details at -v and traces at -vv, notes always', () => {
    const r = [result({ summary: 's', details: ['d'], trace: ['t'], notes: ['n'] })];
    expect(render(r, 0).text).toBe('CONNTRACK OK - s\nn\n');
    expect(render(r, 1).text).toBe('CONNTRACK OK - s\nn\nd\n');
    expect(render(r, 2).text).toBe('CONNTRACK OK - s\nn\nd\nt\n');
  });

  it('prints no line twice: the same log sample three times, or one fact in two checks, is printed once', () => {
    const sample = '  nf_conntrack: nf_conntrack: table full in netns 4026532174, dropping packet';
    const r = [
      result({ summary: 's', details: ['9 messages', sample, sample, sample], notes: ['n'] }),
      result({ notes: ['n'], details: ['other'] }),
    ];
    expect(render(r, 1).text).toBe(`CONNTRACK OK - s\nn\n9 messages\n${sample}\nother\n`);
  });

  it('never lets a | or a newline into the text', () => {
    const out = render([result({ summary: 'a|b\nc', details: ['x | y'] })], 1);
    expect(out.text).toBe('CONNTRACK OK - a/b c\nx / y\n');
  });

  it('renders a bare UNKNOWN', () => {
    expect(renderUnknown('bad | thing', ['Usage: x'])).toEqual({
      state: State.UNKNOWN,
      text: 'CONNTRACK UNKNOWN - bad / thing\nUsage: x\n',
    });
  });
});

/**
 * The linearizability checker on hand-made histories: it must accept every legal history and reject
 * every illegal one (stale reads, lost, duplicated, reordered and phantom records, fencing token and
 * match_seq_num violations), treat indefinite failures as "maybe applied", parse u64s without loss,
 * and read S2's own history shapes. The hash vectors of verification.md come first: nothing else
 * is trustworthy without them.
 */
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/verify/checker.js';
import { foldHashes, recordHash, xxh3u64WithSeed } from '../../src/verify/hash.js';
import { formatEvent, HistoryFormatError, parseEvent, parseHistory } from '../../src/verify/history.js';
import { hashOf, HistoryBuilder, streamHashOf } from './builder.js';

const verdict = (h: HistoryBuilder) => checkHistory(h.lines()).verdict;

describe('hashes (verification.md test vectors)', () => {
  it('xxh3_64 of a record body', () => {
    expect(recordHash(new TextEncoder().encode('foo'))).toBe(0xab6e5f64077e7d8an);
  });

  it('folds the chain over foo, bar, baz', () => {
    const [foo, bar, baz] = ['foo', 'bar', 'baz'].map(hashOf);
    const h1 = foldHashes(0n, [foo!]);
    const h2 = foldHashes(h1, [bar!]);
    const h3 = foldHashes(h2, [baz!]);
    expect([h1, h2, h3]).toEqual([0x4d2b003ee417c3a5n, 0x132e5d5dd7936eddn, 0x732ee99abc5002ffn]);
    expect(foldHashes(0n, [foo!, bar!, baz!])).toBe(h3);
    expect(xxh3u64WithSeed(foo!, 0n)).toBe(h1);
  });
});

describe('history format', () => {
  it('reads the shapes of verification.md (S2 collector output)', () => {
    const text = [
      '{"event":{"Start":{"Append":{"num_records":2,"record_hashes":[123,456],"set_fencing_token":null,"fencing_token":null,"match_seq_num":0}}},"client_id":1,"op_id":7}',
      '{"event":{"Finish":{"AppendSuccess":{"tail":2}}},"client_id":1,"op_id":7}',
      '{"event":{"Start":"Read"},"client_id":2,"op_id":8}',
      '{"event":{"Finish":{"ReadSuccess":{"tail":2,"stream_hash":9876543210}}},"client_id":2,"op_id":8}',
      '{"event":{"Start":"CheckTail"},"client_id":3,"op_id":9}',
      '{"event":{"Finish":{"CheckTailSuccess":{"tail":2}}},"client_id":3,"op_id":9}',
    ].join('\n');
    const lines = parseHistory(text);
    expect(lines.map((l) => formatEvent(l.event))).toEqual(text.split('\n'));
    // 9876543210 is not the hash of records 123 and 456: the read contradicts the append.
    expect(checkHistory(lines).verdict).toBe('not-linearizable');
  });

  it('keeps u64 values above 2^53 exact', () => {
    const line =
      '{"event":{"Finish":{"ReadSuccess":{"tail":9007199254740993,"stream_hash":18446744073709551615}}},"client_id":18446744073709551614,"op_id":1}';
    const event = parseEvent(line);
    expect(event).toEqual({
      type: 'finish',
      clientId: 18446744073709551614n,
      opId: 1n,
      ret: { kind: 'readSuccess', tail: 9007199254740993n, streamHash: 18446744073709551615n },
    });
    expect(formatEvent(event)).toBe(line);
  });

  it('rejects malformed histories with the line number', () => {
    const bad = (text: string) => () => checkHistory(parseHistory(text));
    expect(
      bad(
        '{"event":{"Start":{"Append":{"num_records":2,"record_hashes":[1],"set_fencing_token":null,"fencing_token":null,"match_seq_num":null}}},"client_id":1,"op_id":1}',
      ),
    ).toThrow(/line 1: num_records is 2 but record_hashes has 1/);
    expect(bad('{"event":{"Finish":"ReadFailure"},"client_id":1,"op_id":1}')).toThrow(
      /line 1: Finish .* without a Start/,
    );
    expect(
      bad(
        '{"event":{"Start":"Read"},"client_id":1,"op_id":1}\n{"event":{"Finish":"CheckTailFailure"},"client_id":1,"op_id":1}',
      ),
    ).toThrow(/line 2: checkTailFailure finishes a read/);
    expect(
      bad('{"event":{"Start":"Read"},"client_id":1,"op_id":1}\n{"event":{"Start":"Read"},"client_id":1,"op_id":2}'),
    ).toThrow(/line 2: client 1 starts op_id 2 while op_id 1 is still running/);
    expect(bad('{"event":{"Finish":{"AppendSuccess":{"tail":-1}}},"client_id":1,"op_id":1}')).toThrow(
      HistoryFormatError,
    );
    expect(bad('not json')).toThrow(/line 1: not JSON/);
  });
});

describe('appends', () => {
  it('accepts concurrent appends in either order, and a read of the result', () => {
    const h = new HistoryBuilder();
    const a = h.append(1, ['a1', 'a2']);
    const b = h.append(2, ['b']);
    h.ok(b, 1).ok(a, 3);
    h.readOk(h.read(3), 3, streamHashOf('b', 'a1', 'a2'));
    expect(verdict(h)).toBe('linearizable');
  });

  it('rejects an acknowledgement whose tail no order explains', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 1);
    h.ok(h.append(1, ['b', 'c']), 4); // from tail 1, two records end at 3
    expect(verdict(h)).toBe('not-linearizable');
  });

  it('rejects appends acknowledged in an order contradicting real time', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 2);
    h.ok(h.append(2, ['b']), 1); // started after a finished, yet sequenced before it
    expect(verdict(h)).toBe('not-linearizable');
  });
});

describe('reads and check-tails', () => {
  it('rejects a stale read (and a stale check-tail) after an acknowledged append', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 1);
    h.readOk(h.read(2), 0, 0n);
    expect(verdict(h)).toBe('not-linearizable');
    const t = new HistoryBuilder();
    t.ok(t.append(1, ['a']), 1);
    t.tail(t.checkTail(2), 0);
    expect(verdict(t)).toBe('not-linearizable');
  });

  it('accepts a read concurrent with an append seeing it or not', () => {
    for (const seen of [false, true]) {
      const h = new HistoryBuilder();
      const a = h.append(1, ['a']);
      const r = h.read(2);
      h.readOk(r, seen ? 1 : 0, seen ? streamHashOf('a') : 0n).ok(a, 1);
      expect(verdict(h)).toBe('linearizable');
    }
  });

  it('rejects a lost record: acknowledged, then missing from a later read', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 1);
    h.ok(h.append(1, ['b']), 2);
    h.readOk(h.read(2), 2, streamHashOf('a', 'x')); // right tail, but b is not there
    expect(verdict(h)).toBe('not-linearizable');
  });

  it('rejects a duplicated record', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 1);
    h.readOk(h.read(2), 2, streamHashOf('a', 'a'));
    expect(verdict(h)).toBe('not-linearizable');
  });

  it('rejects a reordered pair of sequential appends', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 1);
    h.ok(h.append(1, ['b']), 2);
    h.readOk(h.read(2), 2, streamHashOf('b', 'a'));
    expect(verdict(h)).toBe('not-linearizable');
  });

  it('a failed read or check-tail constrains nothing', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 1);
    h.readFailed(h.read(2));
    h.finish(h.checkTail(2), { kind: 'checkTailFailure' });
    expect(verdict(h)).toBe('linearizable');
  });
});

describe('failed appends', () => {
  it('rejects a phantom append: records of a definite failure show up', () => {
    const h = new HistoryBuilder();
    h.definite(h.append(1, ['ghost']));
    h.readOk(h.read(2), 1, streamHashOf('ghost'));
    expect(verdict(h)).toBe('not-linearizable');
  });

  it('accepts an indefinite failure that applied, even long after it was given up', () => {
    const h = new HistoryBuilder();
    const x = h.append(1, ['x']);
    h.indefinite(x);
    h.ok(h.append(2, ['a']), 1);
    h.readOk(h.read(3), 1, streamHashOf('a'));
    h.readOk(h.read(3), 2, streamHashOf('a', 'x'));
    expect(verdict(h)).toBe('linearizable');
  });

  it('accepts an indefinite failure that never applied', () => {
    const h = new HistoryBuilder();
    h.indefinite(h.append(1, ['x']));
    h.ok(h.append(2, ['a']), 1);
    h.readOk(h.read(3), 1, streamHashOf('a'));
    expect(verdict(h)).toBe('linearizable');
  });

  it('accepts a retried append whose first, indefinite try also landed', () => {
    const h = new HistoryBuilder();
    h.indefinite(h.append(1, ['a']));
    h.ok(h.append(2, ['a']), 2);
    h.readOk(h.read(2), 2, streamHashOf('a', 'a'));
    expect(verdict(h)).toBe('linearizable');
  });

  it('rejects an indefinite append that shows up before it started', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 1);
    h.readOk(h.read(2), 2, streamHashOf('a', 'x'));
    h.indefinite(h.append(3, ['x']));
    expect(verdict(h)).toBe('not-linearizable');
  });

  it('rejects an indefinite append whose condition certainly failed but which shows up', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 1);
    h.indefinite(h.append(2, ['x'], { matchSeqNum: 0 }));
    h.readOk(h.read(3), 2, streamHashOf('a', 'x'));
    expect(verdict(h)).toBe('not-linearizable');
  });
});

describe('conditions', () => {
  it('accepts appends with the current fencing token and rejects a stale one that succeeds', () => {
    const ok = new HistoryBuilder();
    ok.ok(ok.fence(1, 't1'), 1);
    ok.ok(ok.append(1, ['a'], { fencingToken: 't1' }), 2);
    ok.definite(ok.append(2, ['b'], { fencingToken: 't0' }));
    ok.ok(ok.fence(2, 't2', { fencingToken: 't1' }), 3);
    expect(verdict(ok)).toBe('linearizable');

    const bad = new HistoryBuilder();
    bad.ok(bad.fence(1, 't1'), 1);
    bad.ok(bad.fence(1, 't2'), 2);
    bad.ok(bad.append(2, ['a'], { fencingToken: 't1' }), 3);
    expect(verdict(bad)).toBe('not-linearizable');
  });

  it('rejects a fencing token accepted before any fence took effect', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a'], { fencingToken: '' }), 1);
    expect(verdict(h)).toBe('not-linearizable');
  });

  it('accepts an indefinite fence that took effect, judged by who got through later', () => {
    const h = new HistoryBuilder();
    h.ok(h.fence(1, 't1'), 1);
    h.indefinite(h.fence(1, 't2', { fencingToken: 't1' }));
    h.ok(h.append(2, ['a'], { fencingToken: 't2' }), 3);
    expect(verdict(h)).toBe('linearizable');
  });

  it('rejects a match_seq_num violation and accepts the same append when concurrent', () => {
    const bad = new HistoryBuilder();
    bad.ok(bad.append(1, ['a', 'b', 'c']), 3);
    bad.ok(bad.append(2, ['x'], { matchSeqNum: 0 }), 4);
    expect(verdict(bad)).toBe('not-linearizable');

    const ok = new HistoryBuilder();
    const a = ok.append(1, ['a', 'b', 'c']);
    const x = ok.append(2, ['x'], { matchSeqNum: 0 });
    ok.ok(a, 4).ok(x, 1);
    expect(verdict(ok)).toBe('linearizable');
  });
});

describe('reports', () => {
  it('names the operation that cannot be placed, the candidate states and the open operations', () => {
    const h = new HistoryBuilder();
    h.ok(h.append(1, ['a']), 1);
    const x = h.append(2, ['x']);
    h.readOk(h.read(3), 0, 0n);
    h.ok(x, 2);
    const result = checkHistory(h.lines());
    expect(result.verdict).toBe('not-linearizable');
    expect(result.summary).toMatch(/^not linearizable at line 5: 3 operations/);
    expect(result.report).toContain(
      'linearizable up to line 4; line 5 has an outcome no order of the operations explains',
    );
    expect(result.report).toContain('client 3 op_id 3: read -> tail 0, stream_hash 0');
    expect(result.report).toMatch(/tail 1, stream_hash \d+, fencing token none: it saw tail 0, the state has tail 1/);
    expect(result.report).toContain('client 2 op_id 2: append of 1 -> tail 2');
    expect(result.report).toContain('line 3: {"event":{"Start":{"Append"');
    expect(result.report).toContain('line 4: {"event":{"Start":"Read"}');
  });
});

/**
 * Worst-case JSON request bodies: `npx tsx bench/micro/json-shapes.ts [--quick]`.
 *
 * Every body a client can send is at most 2 MiB (`requestBodyBytesMax`) and is parsed on the event loop, so the cost
 * per MB of the worst shape bounds how long one request can stall every other client. Each shape is about 1.9 MB of
 * JSON through `decodeAppendInputJson` (the unary append path, which also runs when the stream does not exist), the
 * longest stretch its sliced variant (what the route runs) holds the event loop, and the control-plane parse
 * (`parseJson` with the limits of config bodies). Prints ms per MB; a shape that is refused must be refused with the
 * error the route returns (checked), so a fast number cannot come from a broken decoder. Times are CPU time, and
 * the ratio to the first (ordinary) shape is what compares across hosts.
 */
import { decodeAppendInputJsonSliced } from '../../src/api/codec/json-append.js';
import { decodeAppendInputJson } from '../../src/api/codec/json-records.js';
import { S2Error } from '../../src/domain/errors.js';
import { jsonControlPlaneValuesMax } from '../../src/limits.js';
import { parseJson } from '../../src/util/json.js';

const quick = process.argv.includes('--quick');
const targetBytes = 1_900_000;

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`benchmark check failed: ${message}`);
}

/**
 * Runs `fn` until `minMs` of CPU time passed (after a warm-up); returns CPU ms per call. CPU time rather than wall
 * time: on a shared, busy host the wall clock also counts the time other processes had the CPU.
 */
function time(fn: () => void, minMs = quick ? 200 : 1000): number {
  for (let i = 0; i < 2; i++) fn();
  let ops = 0;
  const start = process.cpuUsage();
  let elapsedMs = 0;
  while (elapsedMs < minMs || ops < 3) {
    fn();
    ops++;
    const used = process.cpuUsage(start);
    elapsedMs = (used.user + used.system) / 1000;
  }
  return elapsedMs / ops;
}

/** The outcome of decoding: the record count, or the error code it was refused with. */
function outcome(text: string): string {
  try {
    return `${decodeAppendInputJson(text, 'raw').records.length} records`;
  } catch (error) {
    if (error instanceof S2Error) return error.code;
    throw error;
  }
}

function repeatTo(unit: string, bytes = targetBytes): string {
  return unit.repeat(Math.max(1, Math.floor(bytes / unit.length)));
}

/** Fills an array literal with `unit` items to about `targetBytes` in total. */
function arrayOf(unit: string, overhead: number): string {
  const items = repeatTo(unit + ',', targetBytes - overhead);
  return `[${items.slice(0, -1)}]`;
}

interface Shape {
  name: string;
  text: string;
  /** What `decodeAppendInputJson` must answer (a record count or an error code). */
  expect: string | RegExp;
}

const shapes: Shape[] = [
  {
    name: 'baseline: 1000 records x 1.9 KB body',
    text: JSON.stringify({ records: Array.from({ length: 1000 }, () => ({ body: 'x'.repeat(1880) })) }),
    expect: '1000 records',
  },
  {
    name: 'one record, ~190k tiny headers ["a","b"]',
    text: `{"records":[{"headers":${arrayOf('["a","b"]', 40)},"body":"x"}]}`,
    expect: '1 records',
  },
  {
    name: 'one record, ~240k empty headers ["",""]',
    text: `{"records":[{"headers":${arrayOf('["",""]', 40)},"body":"x"}]}`,
    expect: '1 records',
  },
  {
    name: '~150k tiny records {"body":"x"} (over the count limit)',
    text: `{"records":${arrayOf('{"body":"x"}', 20)}}`,
    // Refused by the count limit while parsing (before that limit moved into the parser, all were decoded).
    expect: /^(invalid|\d+ records)$/,
  },
  {
    name: '1.9M-digit integer in an ignored field',
    text: `{"records":[{"body":"x"}],"x":${'9'.repeat(targetBytes)}}`,
    expect: '1 records',
  },
  {
    name: '1.9M-digit integer as a timestamp',
    text: `{"records":[{"body":"x","timestamp":${'9'.repeat(targetBytes)}}]}`,
    expect: 'bad_json',
  },
  {
    name: '~100k 17-digit integers in an ignored array',
    text: `{"records":[{"body":"x"}],"x":${arrayOf('12345678901234567', 40)}}`,
    expect: '1 records',
  },
  {
    name: '~950k small integers in an ignored array',
    text: `{"records":[{"body":"x"}],"x":${arrayOf('1', 40)}}`,
    expect: '1 records',
  },
  {
    name: 'one 1.9 MB string body',
    text: `{"records":[{"body":"${'x'.repeat(targetBytes)}"}]}`,
    expect: '1 records',
  },
  {
    name: 'one string body of 1.9 MB of \\n escapes',
    text: `{"records":[{"body":"${'\\n'.repeat(targetBytes / 2)}"}]}`,
    expect: '1 records',
  },
  {
    name: 'one string body of \\u0000 escapes',
    text: `{"records":[{"body":"${'\\u0000'.repeat(targetBytes / 6)}"}]}`,
    expect: '1 records',
  },
  {
    name: 'string of escaped quotes and backslashes',
    text: `{"records":[{"body":"${'\\\\\\"'.repeat(targetBytes / 4)}"}]}`,
    expect: '1 records',
  },
  {
    name: '~950k-deep nested arrays in an ignored field',
    text: `{"records":[{"body":"x"}],"x":${'['.repeat(targetBytes / 2)}${']'.repeat(targetBytes / 2)}}`,
    expect: '1 records',
  },
  {
    name: 'deep nesting with a u64 (exact parser)',
    text: `{"records":[{"body":"x","timestamp":18446744073709551615}],"x":${'['.repeat(targetBytes / 2)}${']'.repeat(targetBytes / 2)}}`,
    // An ignored field is skipped at any depth, as serde does (the generic exact parser refused it, 512 levels).
    expect: /^(1 records|bad_json)$/,
  },
  {
    name: '~190k distinct keys in an ignored object',
    text: `{"records":[{"body":"x"}],"x":{${Array.from({ length: 190_000 }, (_, i) => `"k${i}":0`).join(',')}}}`,
    expect: '1 records',
  },
  {
    name: '~190k tiny headers with one u64 (exact parser)',
    text: `{"records":[{"headers":${arrayOf('["a","b"]', 80)},"body":"x","timestamp":18446744073709551615}]}`,
    expect: '1 records',
  },
  {
    name: 'many whitespace',
    text: `{"records":[{"body":"x"}]${' '.repeat(targetBytes)}}`,
    expect: '1 records',
  },
];

/**
 * The longest stretch the sliced decoder (the route's) holds the event loop on `text`, in CPU ms (this process, GC
 * included): the CPU time between two turns of a `setImmediate` loop running beside it. Wall time would also count
 * the time other processes of a busy host had the CPU.
 */
async function longestSliceMs(text: string): Promise<number> {
  const cpuMs = () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
  let longest = 0;
  let last = cpuMs();
  let running = true;
  const tick = () => {
    const now = cpuMs();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    await decodeAppendInputJsonSliced(text, 'raw');
  } catch {
    // refused shapes count too
  }
  running = false;
  await new Promise((resolve) => setImmediate(resolve)); // the last stretch
  return longest;
}

console.log(
  `${'shape'.padEnd(58)} ${'MB'.padStart(5)} ${'decode ms/MB'.padStart(13)} ${'x ordinary'.padStart(10)} ` +
    `${'slice ms'.padStart(9)} ${'parse ms/MB'.padStart(12)}  outcome`,
);
let worst = 0;
let ordinary = 0;
let worstSlice = 0;
for (const shape of shapes) {
  const mb = shape.text.length / 1e6;
  const got = outcome(shape.text);
  const ok = typeof shape.expect === 'string' ? got === shape.expect : shape.expect.test(got);
  check(ok, `${shape.name}: expected ${String(shape.expect)}, got ${got}`);
  const decodeMs = time(() => void outcome(shape.text));
  // The control-plane parse (configs), with its limits.
  const parseMs = time(() => {
    try {
      parseJson(shape.text, { valuesMax: jsonControlPlaneValuesMax });
    } catch {
      // refused shapes are timed too: refusing must be as cheap as accepting
    }
  });
  const sliceMs = await longestSliceMs(shape.text);
  worst = Math.max(worst, decodeMs / mb);
  worstSlice = Math.max(worstSlice, sliceMs);
  ordinary ||= decodeMs / mb;
  console.log(
    `${shape.name.padEnd(58)} ${mb.toFixed(2).padStart(5)} ${(decodeMs / mb).toFixed(1).padStart(13)} ` +
      `${(decodeMs / mb / ordinary).toFixed(1).padStart(10)} ${sliceMs.toFixed(1).padStart(9)} ` +
      `${(parseMs / mb).toFixed(1).padStart(12)}  ${got}`,
  );
}
console.log(
  `\nworst decode: ${worst.toFixed(1)} ms/MB (${(1000 / worst).toFixed(0)} MB/s), ${(worst / ordinary).toFixed(1)} x ` +
    `the ordinary body; longest slice of the event loop: ${worstSlice.toFixed(1)} ms (CPU)`,
);

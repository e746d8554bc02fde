/**
 * Parsers for command-line values, throwing commander's InvalidArgumentError so a bad value is
 * reported as one line naming the option.
 */
import { InvalidArgumentError, Option } from 'commander';
import { parseDurationMs, parseSize } from '../util/units.js';

/** A non-negative integer (at least `min`) that fits a JS number exactly. */
export function parseCount(text: string, min = 0): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
  return n;
}

export function parseSizeArg(text: string): number {
  try {
    return parseSize(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export function parseDurationArg(text: string): number {
  if (text.trim() === '0') return 0;
  try {
    return parseDurationMs(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export function parsePositiveNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number greater than 0');
  return n;
}

/** An option taking a duration (value in ms), whose help shows the default as written, e.g. `5ms`. */
export function durationOption(flags: string, description: string, defaultText: string): Option {
  return new Option(flags, description).argParser(parseDurationArg).default(parseDurationArg(defaultText), defaultText);
}

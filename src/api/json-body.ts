/**
 * Parsing JSON request bodies. Integers beyond 2^53 must survive (api.md 1.9), so the parse is
 * lossless: unsafe integers come back as bigint.
 */
import { isSafeNumber, parse } from 'lossless-json';
import { errors } from '../errors.js';

function parseNumber(text: string): number | bigint {
  if (/^-?\d+$/.test(text) && !isSafeNumber(text)) return BigInt(text);
  return Number(text);
}

export function parseJsonText(text: string): unknown {
  try {
    return parse(text, null, parseNumber);
  } catch (error) {
    throw errors.badJson(`Failed to parse the request body as JSON: ${(error as Error).message}`);
  }
}

/**
 * Parsing JSON request bodies. Integers beyond 2^53 must survive (api.md 1.9), so the parse is
 * exact: unsafe integers come back as bigint (see util/json.ts).
 */
import { errors } from '../domain/errors.js';
import { parseJson } from '../util/json.js';

export function parseJsonText(text: string): unknown {
  try {
    return parseJson(text);
  } catch (error) {
    throw errors.badJson(`Failed to parse the request body as JSON: ${(error as Error).message}`);
  }
}

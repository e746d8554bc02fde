/**
 * Parsing JSON request bodies. Integers beyond 2^53 must survive (api.md 1.9), so the parse is
 * exact: unsafe integers come back as bigint (see util/json.ts). Control-plane bodies (configs)
 * have a few dozen values, so a body with more than `jsonControlPlaneValuesMax` is refused before
 * anything is built (400 bad_json): V8 spends microseconds per distinct key.
 */
import { errors } from '../domain/errors.js';
import { jsonControlPlaneValuesMax } from '../limits.js';
import { parseJson } from '../util/json.js';

export function parseJsonText(text: string): unknown {
  try {
    return parseJson(text, { valuesMax: jsonControlPlaneValuesMax });
  } catch (error) {
    throw errors.badJson(`Failed to parse the request body as JSON: ${(error as Error).message}`);
  }
}

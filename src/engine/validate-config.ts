/**
 * Semantic checks on configs, made after a body parsed (so they are 422 `invalid`, api.md 1.7).
 */
import { errors } from '../domain/errors.js';
import type { StreamConfigPatch } from './config.js';
import type { RetentionPolicy, StreamConfigLayer } from '../domain/types.js';

function validateRetention(policy: RetentionPolicy | null | undefined): void {
  if (policy && policy.kind === 'age' && policy.ageSecs <= 0) {
    throw errors.invalid('age must be greater than 0 seconds');
  }
}

export function validateLayer(layer: StreamConfigLayer): void {
  validateRetention(layer.retentionPolicy);
}

export function validatePatch(patch: StreamConfigPatch): void {
  validateRetention(patch.retentionPolicy);
}

import type { Endpoint } from '../http/endpoint';
import type { Platform } from '../platform';

/**
 * Every core REST endpoint plus the per-type routes generated from plugin declarations. Each area
 * contributes one factory; order does not matter (paths are literal where types are concerned).
 */
export function buildEndpoints(p: Platform): Endpoint[] {
  void p;
  return [
    // area factories are appended here, one line each
  ];
}

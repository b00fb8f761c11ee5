/** The fake homeserver as the tests use it: every request and response checked against the spec. */
import {
  FakeHomeserver,
  type FakeHomeserverOptions,
  type TrafficCheck,
} from '../../src/testing/index.js';
import { MatrixSpec } from './spec.js';

export type { Fault, LoggedRequest, Reply, RequestInfo } from '../../src/testing/index.js';
export { FakeHomeserver };

let shared: MatrixSpec | undefined;
/** The spec's OpenAPI files, parsed and compiled once per test file. */
export function spec(): MatrixSpec {
  shared ??= new MatrixSpec();
  return shared;
}

/** The spec as a {@link TrafficCheck}. */
export function specCheck(): TrafficCheck {
  const s = spec();
  return {
    request(method, url, authorization) {
      const check = s.checkRequest(method, url, authorization);
      return { operation: check.operation?.id ?? null, errors: check.errors };
    },
    response(operation, status, body) {
      const op = s.operations.find((o) => o.id === operation);
      return op ? s.checkResponse(op, status, body) : [`no operation ${operation} in the spec`];
    },
  };
}

/** A fake homeserver whose traffic the spec checks. */
export function checkedHomeserver(options: Omit<FakeHomeserverOptions, 'check'>): FakeHomeserver {
  return new FakeHomeserver({ ...options, check: specCheck() });
}

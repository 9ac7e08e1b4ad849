import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** This process's id among the nodes sharing a store: host, pid and a random suffix. */
export function makeNodeId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

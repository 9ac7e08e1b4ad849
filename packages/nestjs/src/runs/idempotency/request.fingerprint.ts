import { createHash } from 'node:crypto';
import type { MultitaskPolicy } from '@agent-pipeline/protocol';

/** What a start's fingerprint covers: a repeated start must say the same about each. */
export interface FingerprintedRequest {
  agent: string;
  input?: unknown;
  threadId?: string;
  multitask?: MultitaskPolicy;
}

/** The request fields an idempotency key is bound to, in the order a conflict names them. */
export type FingerprintField = 'agent' | 'input' | 'threadId' | 'multitask';

type Fingerprint = Record<FingerprintField, string | null>;

const FIELDS: readonly FingerprintField[] = ['agent', 'input', 'threadId', 'multitask'];

/**
 * The fingerprint stored with a keyed run: its request's agent, thread and multitask policy as
 * sent (absent is `null`, so a start that named no thread matches its repeat, not the thread it
 * was given), and a hash of its input as canonical JSON (object keys sorted: `{a,b}` and `{b,a}`
 * are one input).
 */
export function requestFingerprint(request: FingerprintedRequest): string {
  const fingerprint: Fingerprint = {
    agent: request.agent,
    input: createHash('sha256')
      .update(canonicalJson(request.input ?? null))
      .digest('base64url'),
    threadId: request.threadId ?? null,
    multitask: request.multitask ?? null,
  };
  return JSON.stringify(fingerprint);
}

/** The first field in which two fingerprints differ; undefined when they are the same request. */
export function differingField(stored: string, fresh: string): FingerprintField | undefined {
  const a = parse(stored);
  const b = parse(fresh);
  if (!a || !b) return 'input';
  return FIELDS.find((field) => a[field] !== b[field]);
}

function parse(text: string): Fingerprint | undefined {
  try {
    const value = JSON.parse(text) as Fingerprint;
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** JSON with every object's keys in sorted order (inputs are plain JSON: sanitized before this). */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Everything one run knows about itself. It is registered as the REQUEST of the run's DI
 * context, so any request-scoped provider can inject it with `@Inject(REQUEST)` or
 * `@InjectExecutionContext()`.
 */
export interface UserExecutionContext {
  /** The authenticated user the run belongs to; its events go to room `user:<userId>` only. */
  readonly userId: string;
  /** Made once, by the bridge, when the run is created. */
  readonly runId: string;
  /** The caller's thread id, or one made once for this run. */
  readonly threadId: string;
  /** The agent's registered name. */
  readonly agent: string;
  /** The agent's input, as validated JSON. */
  readonly input: unknown;
  /** Aborted when the run is cancelled, times out or the server shuts down. */
  readonly signal: AbortSignal;
  /** When the run was created (ms since epoch). */
  readonly startedAt: number;
}

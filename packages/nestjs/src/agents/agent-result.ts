/**
 * What an agent returns when `agent_completed` should carry more than the result: each key of
 * `extra` becomes a field of the event's `data` next to `result` and `durationMs` (which win if
 * `extra` names them too). A plain return value is the same as `new AgentResult(value)`.
 *
 * @example
 * return new AgentResult(answer.text, { citations: answer.sources });
 * // → agent_completed data: { citations: [ … ], result: answer.text, durationMs }
 */
export class AgentResult<TResult = unknown> {
  constructor(
    /** The run's result: `data.result` of `agent_completed` and the stored run's `result`. */
    readonly result: TResult,
    /** Further JSON fields of `agent_completed` data. @default {} */
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {}
}

/**
 * The answer of `GET /usage`: a user's model usage per UTC day, agent and model, and the daily
 * budget. Shared with clients: no server-only imports here.
 */

/** One UTC day's tokens of one agent and model. */
export interface UsageDay {
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  agent: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Runs that called this model that day. */
  runs: number;
}

/** The daily token budget (`MAX_TOKENS_PER_USER_PER_DAY`) and what today's usage took of it. */
export interface UsageBudget {
  /** Input + output tokens a user may use per UTC day; 0 = no budget. */
  limit: number;
  /** Input + output tokens the user used today (UTC), on every node. */
  usedToday: number;
}

/** Body of `GET /usage`. */
export interface UsageReport {
  /** Oldest day first; within a day by agent, then model. */
  days: UsageDay[];
  budget: UsageBudget;
}

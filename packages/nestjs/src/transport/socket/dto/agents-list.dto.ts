/** Payload of `agents:list`: an empty object (unknown keys are ignored). */
export class AgentsListDto {}

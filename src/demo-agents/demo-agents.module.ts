import { Module } from '@nestjs/common';
import { CalculatorAgent } from './calculator.agent';
import { CountdownAgent } from './countdown.agent';
import { EchoAgent } from './echo.agent';
import { FailingAgent } from './failing.agent';

const AGENTS = [EchoAgent, CalculatorAgent, CountdownAgent, FailingAgent];

/**
 * The four deterministic demo agents (`echo`, `calculator`, `countdown`, `failing`). Import it
 * (the app does when `DEMO_AGENTS=true`) and the pipeline discovers them at start-up.
 */
@Module({ providers: AGENTS, exports: AGENTS })
export class DemoAgentsModule {}

import { Module } from '@nestjs/common';
import { ApprovalAgent } from './approval.agent';
import { CalculatorAgent } from './calculator.agent';
import { CountdownAgent } from './countdown.agent';
import { EchoAgent } from './echo.agent';
import { FailingAgent } from './failing.agent';

const AGENTS = [EchoAgent, CalculatorAgent, CountdownAgent, FailingAgent, ApprovalAgent];

/**
 * The deterministic demo agents (`echo`, `calculator`, `countdown`, `failing`, `approval`). Import it
 * (the app does when `DEMO_AGENTS=true`) and the pipeline discovers them at start-up.
 */
@Module({ providers: AGENTS, exports: AGENTS })
export class DemoAgentsModule {}

import { Module } from '@nestjs/common';
import { CalculateTool } from './calculate.tool';

/** The server's own tools for the `assistant` agent (`calculate`); registered with `LLM_BASE_URL`. */
@Module({ providers: [CalculateTool] })
export class DemoToolsModule {}

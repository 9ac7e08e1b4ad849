import { Module, Controller, Post, Body, Headers } from '@nestjs/common';
import { IsString } from 'class-validator';
import { AgentPipelineModule, Agent, AgentService, type AgentHandler, type AgentRunContext } from '@agent-pipeline/nestjs';

class GreetInput {
  @IsString() name!: string;
}

@Agent({ name: 'greeter', description: 'Greets someone by name.', input: GreetInput })
export class GreeterAgent implements AgentHandler<GreetInput, string> {
  async run({ input, notifier }: AgentRunContext<GreetInput>): Promise<string> {
    notifier.thinking('Composing a greeting');
    notifier.messageDelta(`Hello, ${input.name}!`);
    return `Hello, ${input.name}!`;
  }
}

@Controller('greet')
export class GreetController {
  constructor(private readonly agents: AgentService) {}
  @Post() async greet(@Headers('x-user') userId: string, @Body() body: { name: string }) {
    const { runId, threadId } = await this.agents.start(userId, { agent: 'greeter', input: body });
    return { runId, threadId };
  }
}

@Module({
  imports: [
    AgentPipelineModule.forRoot({
      databaseUrl: 'sqlite::memory:',
      auth: { verify: async (token: string) => (token.startsWith('user:') ? { userId: token.slice(5) } : null) },
    }),
  ],
  providers: [GreeterAgent],
  controllers: [GreetController],
})
export class AppModule {}

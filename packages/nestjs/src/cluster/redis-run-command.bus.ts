import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { toPipelineError } from '../errors/pipeline.error';
import { RemoteCancelResult, RunCommandBus, type RemoteResume, type RemoteResumeResult, type ThreadWatch } from '../runs/run-command.bus';
import type { RunRegistry } from '../runs/run.registry';

const COMMANDS = 'agent-pipeline:commands';
const REPLY_TIMEOUT_MS = 1000;

interface CancelCommand {
  type: 'cancel';
  requestId: string;
  replyTo: string;
  runId: string;
  reason: string;
}

interface WatchCommand extends ThreadWatch {
  type: 'watch';
}

interface ResumeCommand extends RemoteResume {
  type: 'resume';
  requestId: string;
  replyTo: string;
}

interface CommandReply {
  requestId: string;
  result: RemoteCancelResult | RemoteResumeResult;
}

/**
 * Carries commands between nodes over Redis pub/sub: a node asked to cancel a run it does not
 * execute (or to answer one of its interrupts) publishes the command; the node that executes it
 * cancels the run (answers the interrupt) and replies. The
 * caller has already checked that the run exists and belongs to the user.
 */
export class RedisRunCommandBus extends RunCommandBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisRunCommandBus.name);
  private readonly replyChannel: string;
  private readonly waiting = new Map<string, (result: unknown) => void>();
  private subscriber?: Redis;

  constructor(
    private readonly redis: Redis,
    private readonly registry: RunRegistry,
    nodeId: string,
  ) {
    super();
    this.replyChannel = `agent-pipeline:replies:${nodeId}`;
  }

  onModuleInit(): void {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => undefined); // logged by the main client's handler
    this.subscriber.on('message', (channel: string, message: string) => void this.onMessage(channel, message));
    // Not awaited: a node must start (and serve its own runs) while Redis is unreachable.
    // Subscribing again on every `ready` also covers a first attempt that failed.
    const subscribe = () =>
      this.subscriber?.subscribe(COMMANDS, this.replyChannel).catch((err: Error) => {
        this.logger.warn(`Subscribing to cross-node commands failed (${err.message}); retrying when Redis is back.`);
      });
    this.subscriber.on('ready', () => void subscribe());
    void subscribe();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
    this.subscriber?.disconnect();
  }

  override async cancelElsewhere(runId: string, reason: string): Promise<RemoteCancelResult> {
    const requestId = randomUUID();
    const command: CancelCommand = { type: 'cancel', requestId, replyTo: this.replyChannel, runId, reason };
    return ((await this.request(requestId, command, `cancel of run ${runId}`)) as RemoteCancelResult | undefined) ?? 'not-here';
  }

  override async resumeElsewhere(resume: RemoteResume): Promise<RemoteResumeResult> {
    const requestId = randomUUID();
    const command: ResumeCommand = { ...resume, type: 'resume', requestId, replyTo: this.replyChannel };
    const reply = (await this.request(requestId, command, `answer to run ${resume.runId}`)) as RemoteResumeResult | undefined;
    return reply ?? { kind: 'not-here' };
  }

  /** Publishes a command and waits for the owning node's reply; undefined when none comes in time. */
  private request(requestId: string, command: CancelCommand | ResumeCommand, what: string): Promise<unknown> {
    return new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => finish(undefined), REPLY_TIMEOUT_MS);
      const finish = (result: unknown) => {
        clearTimeout(timer);
        this.waiting.delete(requestId);
        resolve(result);
      };
      this.waiting.set(requestId, finish);
      this.redis.publish(COMMANDS, JSON.stringify(command)).catch((err: Error) => {
        this.logger.warn(`Could not send the ${what} to the other nodes: ${err.message}`);
        finish(undefined);
      });
    });
  }

  override watchElsewhere(watch: ThreadWatch): void {
    const command: WatchCommand = { type: 'watch', userId: watch.userId, threadId: watch.threadId, runId: watch.runId };
    this.redis.publish(COMMANDS, JSON.stringify(command)).catch((err: Error) => {
      // The sweep starts the queue anyway, a little later.
      this.logger.warn(`Could not send a thread watch to the other nodes: ${err.message}`);
    });
  }

  private async onMessage(channel: string, message: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (channel === this.replyChannel) {
      const reply = parsed as CommandReply;
      this.waiting.get(reply.requestId)?.(reply.result);
      return;
    }
    const command = parsed as CancelCommand | WatchCommand | ResumeCommand;
    if (command.type === 'watch') {
      if (this.registry.get(command.runId)?.userId === command.userId) this.deliverWatch(command);
      return;
    }
    if (command.type === 'resume') {
      const active = this.registry.get(command.runId);
      // Not ours (or, defensively, not that user's): the node that runs it answers.
      if (!active?.orchestrator || active.userId !== command.userId) return;
      let result: RemoteResumeResult;
      try {
        result = { kind: 'resolved', resolution: await active.orchestrator.answerInterrupt(command.interruptId, command.answer) };
      } catch (err) {
        result = { kind: 'refused', error: toPipelineError(err).toBody() };
      }
      await this.reply(command.replyTo, { requestId: command.requestId, result });
      return;
    }
    if (command.type !== 'cancel') return;
    const active = this.registry.get(command.runId);
    if (!active?.orchestrator) return; // not ours: the node that runs it answers
    const cancelled = await active.orchestrator.cancel(command.reason);
    await this.reply(command.replyTo, { requestId: command.requestId, result: cancelled ? 'cancelled' : 'finished' });
  }

  private async reply(channel: string, reply: CommandReply): Promise<void> {
    await this.redis.publish(channel, JSON.stringify(reply)).catch(() => undefined);
  }
}

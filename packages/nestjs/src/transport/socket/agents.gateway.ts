import { Logger, UseFilters } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { socketAuthMiddleware, type AuthenticatedSocketData } from '../../auth/socket-auth.middleware';
import { TokenService } from '../../auth/token.service';
import { AgentPipelineMetrics } from '../../observability/metrics/agent-pipeline.metrics';
import { AGENTS_NAMESPACE } from '@agent-pipeline/protocol';
import { AgentService } from '../../runs/agent.service';
import { SocketRoomPublisher } from '../../emitter/socket-room.publisher';
import { validatePayload } from '../../validation/validate-payload';
import { SlowConsumerGuard } from './backpressure/slow-consumer.guard';
import { SocketReplayWriter } from './backpressure/socket-replay.writer';
import { SessionExpiryWatcher } from './connections/session-expiry.watcher';
import { SocketConnectionLimiter } from './connections/socket-connection.limiter';
import { AgentsListDto } from './dto/agents-list.dto';
import { RunCancelDto } from './dto/run-cancel.dto';
import { RunReplayDto } from './dto/run-replay.dto';
import { RunResumeDto } from './dto/run-resume.dto';
import { RunStartDto } from './dto/run-start.dto';
import { checkedRunStart } from './dto/run-start.check';
import { AckResponse, toAck } from './socket-ack';
import { SocketAckFilter } from './socket-ack.filter';

/** `run:start` keys handed to the agent service as they came: it sanitizes the input once. */
const START_PASS_THROUGH: ReadonlySet<string> = new Set(['input']);

/**
 * The Socket.IO protocol, namespace `/agents` (DESIGN.md). A singleton: it injects no
 * request-scoped provider and asks `AgentService` for everything about runs. Every command is
 * answered with exactly one ack. Each connection is authenticated, counted against
 * `MAX_SOCKETS_PER_USER`, watched for a stalled reader and closed when its token expires.
 */
@WebSocketGateway({ namespace: AGENTS_NAMESPACE })
@UseFilters(SocketAckFilter)
export class AgentsGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(AgentsGateway.name);

  constructor(
    private readonly agents: AgentService,
    private readonly tokens: TokenService,
    private readonly publisher: SocketRoomPublisher,
    private readonly metrics: AgentPipelineMetrics,
    private readonly limiter: SocketConnectionLimiter,
    private readonly slowConsumers: SlowConsumerGuard,
    private readonly sessions: SessionExpiryWatcher,
    private readonly replays: SocketReplayWriter,
  ) {}

  afterInit(namespace: Namespace): void {
    namespace.use(socketAuthMiddleware(this.tokens, () => this.metrics.socketRefused('unauthorized')));
    namespace.use(this.limiter.middleware());
    this.publisher.attach(namespace);
  }

  handleConnection(socket: Socket): void {
    const { userId, tokenExpiresAt } = socket.data as AuthenticatedSocketData;
    this.slowConsumers.watch(socket, userId);
    this.sessions.watch(socket, userId, tokenExpiresAt);
    this.logger.debug(`Socket ${socket.id} of user ${userId} connected${socket.recovered ? ' (recovered)' : ''}.`);
  }

  @SubscribeMessage('run:start')
  start(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown): Promise<AckResponse> {
    return toAck('run:start', async () => {
      // The input is sanitized and validated once, by the agent service: not walked here.
      const dto = checkedRunStart(payload) ?? validatePayload(RunStartDto, payload, 'run:start payload', undefined, START_PASS_THROUGH);
      const run = await this.agents.start(userOf(socket), dto);
      return { runId: run.runId, threadId: run.threadId, status: run.status, ...(run.replayed ? { replayed: true } : {}) };
    });
  }

  @SubscribeMessage('run:cancel')
  cancel(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown): Promise<AckResponse> {
    return toAck('run:cancel', async () => {
      const dto = validatePayload(RunCancelDto, payload, 'run:cancel payload');
      const { runId } = await this.agents.cancel(userOf(socket), dto.runId);
      return { runId };
    });
  }

  @SubscribeMessage('run:resume')
  resume(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown): Promise<AckResponse> {
    return toAck('run:resume', async () => {
      const { runId, interruptId, approved, response, reason } = validatePayload(RunResumeDto, payload, 'run:resume payload');
      const resumed = await this.agents.resume(userOf(socket), runId, interruptId, { approved, response, reason });
      return { runId: resumed.runId, interruptId: resumed.interruptId, resolution: resumed.resolution };
    });
  }

  @SubscribeMessage('run:replay')
  replay(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown): Promise<AckResponse> {
    return toAck('run:replay', async () => {
      const dto = validatePayload(RunReplayDto, payload, 'run:replay payload');
      // To this socket only, in order, before the ack, paced by how fast the client reads.
      const { run } = await this.replays.write(socket, userOf(socket), dto.runId, dto.afterSeq ?? 0);
      return { runId: run.runId, status: run.status, lastSeq: run.lastSeq };
    });
  }

  @SubscribeMessage('agents:list')
  list(@MessageBody() payload: unknown): Promise<AckResponse> {
    return toAck('agents:list', () => {
      validatePayload(AgentsListDto, payload ?? {}, 'agents:list payload');
      return { agents: this.agents.listAgents() };
    });
  }
}

function userOf(socket: Socket): string {
  return (socket.data as AuthenticatedSocketData).userId;
}

import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { PIPELINE_OPTIONS } from '../../../pipeline.tokens';
import type { ResolvedPipelineOptions } from '../../../pipeline.options';
import { RunRegistry } from '../../../runs/run.registry';
import type { AgentEventEnvelope } from '@agent-pipeline/protocol';
import type { RunFollow } from './run-event.follower';

/** A client that reads slower than the run writes is cut off past this; it resumes with Last-Event-ID. */
export const SSE_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** How often a stream of a run executing on another node reads the shared store for new events. */
const REMOTE_POLL_MS = 250;

/** How one view of a run writes its events as Server-Sent Events. */
export interface SseView {
  /** The SSE text for one source event ('' writes nothing); frames of one event are written at once. */
  frames(event: AgentEventEnvelope): string;
  /** The SSE text after the run's end ('' or absent: none). Not written when the stream is cut short, so the client resumes. */
  end?(): string;
  /** True when the stream ends after this event although the run goes on (an AG-UI run ends where ours asks its user). */
  endsAfter?(event: AgentEventEnvelope): boolean;
  /** Headers besides the SSE ones, set before the stream opens. */
  headers?: Record<string, string>;
  /** Names the view in logs. */
  name: string;
}

/**
 * Writes a {@link RunFollow} to an HTTP response as Server-Sent Events, for every view of a run
 * (our envelopes on `GET /runs/:runId/stream`, AG-UI events, ...): SSE headers, keep-alive
 * comments, store polling for runs executing on another node, a bound on what a slow client
 * leaves unread, and closing every open stream on shutdown. Closing a stream never touches the run.
 */
@Injectable()
export class SseFollowStreamer implements BeforeApplicationShutdown {
  private readonly logger = new Logger(SseFollowStreamer.name);
  /** Closers of the streams open right now. */
  private readonly open = new Set<() => void>();

  constructor(
    @Inject(PIPELINE_OPTIONS) private readonly config: ResolvedPipelineOptions,
    private readonly registry: RunRegistry,
  ) {}

  /** Opens the event stream on `res` and delivers `follow` through `view` until the run ends or the client leaves. */
  stream(req: Request, res: Response, follow: RunFollow, userId: string, view: SseView): void {
    const runId = follow.runId;
    if (req.socket.destroyed) {
      // Gone while the run was being looked up: nothing to write to.
      follow.stop();
      return;
    }
    res.status(200);
    for (const [name, value] of Object.entries(view.headers ?? {})) res.setHeader(name, value);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // Tells nginx-style proxies not to hold events back in a buffer.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    req.socket.setNoDelay(true);

    let sentSinceTick = false;
    const keepAlive = setInterval(() => {
      if (follow.isFinished) return;
      res.write(': keep-alive\n\n');
      // Quiet for a whole interval: look in the store for events this node was not told about
      // (the run may execute on another node).
      if (!sentSinceTick) {
        follow
          .catchUp()
          .catch((err: unknown) =>
            this.logger.warn({ msg: `SSE catch-up failed: ${(err as Error)?.message}`, runId, userId, view: view.name }),
          );
      }
      sentSinceTick = false;
    }, this.config.sseKeepAliveMs);

    // A run executing on another node sends this node nothing: follow it through the shared store.
    const remotePoll = this.registry.get(runId)
      ? undefined
      : setInterval(() => {
          if (follow.isFinished) return;
          follow
            .catchUp()
            .catch((err: unknown) =>
              this.logger.warn({ msg: `SSE store poll failed: ${(err as Error)?.message}`, runId, userId, view: view.name }),
            );
        }, REMOTE_POLL_MS);

    const cleanUp = () => {
      clearInterval(keepAlive);
      if (remotePoll) clearInterval(remotePoll);
      follow.stop();
      this.open.delete(close);
    };
    const close = () => {
      cleanUp();
      res.end();
    };
    this.open.add(close);
    res.on('close', cleanUp);

    follow.start({
      event: (event) => {
        const text = view.frames(event);
        if (text === '') return;
        sentSinceTick = true;
        res.write(text);
        if (view.endsAfter?.(event)) return close();
        if (res.writableLength > SSE_MAX_BUFFERED_BYTES) {
          this.logger.warn({ msg: 'SSE client too slow: stream closed; it may resume with Last-Event-ID', runId, userId, view: view.name });
          close();
        }
      },
      end: () => {
        const text = view.end?.() ?? '';
        if (text !== '' && !res.writableEnded) res.write(text);
        close();
      },
    });
  }

  /**
   * Ends the streams still open, so the HTTP server can close (it waits for open responses).
   * Their clients reconnect with `Last-Event-ID`, to this server once it is back or to another node.
   */
  beforeApplicationShutdown(): void {
    for (const close of [...this.open]) close();
  }
}

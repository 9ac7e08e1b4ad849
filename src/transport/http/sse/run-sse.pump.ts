import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppConfig } from '../../../config/app.config';
import { RunRegistry } from '../../../pipeline';
import type { AgentEventEnvelope } from '../../../pipeline';
import type { RunFollow } from './run-event.follower';

/** A client that reads slower than the run writes is cut off past this; it resumes from the store. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** How often a stream of a run executing on another node reads the shared store for new events. */
const REMOTE_POLL_MS = 250;

/** What one protocol writes for a followed run: its view of our events. */
export interface RunSseFormat {
  /** The SSE text for one event (`''` when the protocol has nothing to say about it). */
  event(event: AgentEventEnvelope): string;
  /** The SSE text after the run's end (`''` for none). Not written when the stream is cut short. */
  end(): string;
}

/**
 * Writes a followed run to a Server-Sent Events response, for every protocol that streams runs
 * (our own SSE, the AI SDK's UI message stream): keep-alive comments, a catch-up from the store
 * when quiet and a poll when the run executes on another node, a bound on what a slow client may
 * leave unread, and the end of open streams on shutdown. The protocol only formats.
 */
@Injectable()
export class RunSsePump implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RunSsePump.name);
  /** Closers of the streams open right now. */
  private readonly open = new Set<() => void>();

  constructor(
    private readonly config: AppConfig,
    private readonly registry: RunRegistry,
  ) {}

  /** Sets the SSE headers (plus the protocol's) and sends them at once. */
  openResponse(req: Request, res: Response, headers: Record<string, string> = {}): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // Tells nginx-style proxies not to hold events back in a buffer.
    res.setHeader('X-Accel-Buffering', 'no');
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.flushHeaders();
    req.socket.setNoDelay(true);
  }

  /**
   * Starts `follow` and writes it to `res` (opened with {@link openResponse}) through `format`,
   * until the run ends (then `format.end()` and the response ends), the client goes away (the
   * follow stops; the run goes on), the client falls {@link MAX_BUFFERED_BYTES} behind, or the
   * server shuts down (both: the response ends without `format.end()`, so the client resumes).
   */
  pipe(follow: RunFollow, res: Response, format: RunSseFormat, userId: string): void {
    const runId = follow.runId;
    // The client left while the run was being started or opened: its 'close' has already fired.
    if (res.destroyed || res.writableEnded) {
      follow.stop();
      return;
    }
    let sentSinceTick = false;
    const keepAlive = setInterval(() => {
      if (follow.isFinished) return;
      res.write(': keep-alive\n\n');
      // Quiet for a whole interval: look in the store for events this node was not told about
      // (the run may execute on another node).
      if (!sentSinceTick) {
        follow.catchUp().catch((err: unknown) =>
          this.logger.warn({ msg: `SSE catch-up failed: ${(err as Error)?.message}`, runId, userId }),
        );
      }
      sentSinceTick = false;
    }, this.config.sseKeepAliveMs);

    // A run executing on another node sends this node nothing: follow it through the shared store.
    const remotePoll = this.registry.get(runId)
      ? undefined
      : setInterval(() => {
          if (follow.isFinished) return;
          follow.catchUp().catch((err: unknown) =>
            this.logger.warn({ msg: `SSE store poll failed: ${(err as Error)?.message}`, runId, userId }),
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
        sentSinceTick = true;
        const text = format.event(event);
        if (text) res.write(text);
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          this.logger.warn({ msg: 'SSE client too slow: stream closed; it may resume', runId, userId });
          close();
        }
      },
      end: () => {
        const text = format.end();
        if (text && !res.writableEnded) res.write(text);
        close();
      },
    });
  }

  /**
   * Ends the streams still open, so the HTTP server can close (it waits for open responses).
   * Their clients resume, from this server once it is back or from another node.
   */
  beforeApplicationShutdown(): void {
    for (const close of [...this.open]) close();
  }
}

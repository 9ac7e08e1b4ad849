/**
 * One run on the chat page: the user's message, every event as it streams (thinking steps, tool
 * calls with arguments and results, message deltas appended), the result or error, and a cancel
 * button while it runs. The `data-testid` hooks are part of the page's contract (issue 6).
 */
import type {
  AgentEventEnvelope,
  AnyAgentEvent,
  InterruptRequestedData,
  RunStatus,
  InterruptAnswer,
  RunUsage,
} from '@agent-pipeline/protocol';
import { el } from './dom';

/** What a run view shows before its events arrive. */
export interface RunViewOptions {
  agent: string;
  /** What the user typed (their chat message); without it the run's input is shown. */
  message?: string;
  /** The run's input, when known before `agent_started` (history). */
  input?: unknown;
  createdAt?: string;
  /** Fold the event list into a `<details>` (past runs). */
  collapsed?: boolean;
  /** Called when the cancel button is pressed. */
  onCancel(view: RunView): void;
  /** Called when the user answers the run's open question (Approve, Deny, or a typed response). */
  onAnswer(view: RunView, interruptId: string, answer: InterruptAnswer): void;
  /** Called when the focused cancel button disappears (the run ended), to put focus somewhere useful. */
  onFocusLost(): void;
}

type ViewStatus = RunStatus | 'pending' | 'refused';

/** The DOM of one run. */
export class RunView {
  readonly element: HTMLElement;
  runId?: string;
  private status: ViewStatus = 'pending';
  private readonly badge: HTMLElement;
  private readonly head: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly summary?: HTMLElement;
  private readonly inputBox: HTMLElement;
  private cancelButton?: HTMLButtonElement;
  private resultBox?: HTMLElement;
  private usageBox?: HTMLElement;
  private noteBox?: HTMLElement;
  private readonly messages = new Map<string, HTMLElement>();
  /** The question boxes of this run, by interrupt id. */
  private readonly interrupts = new Map<string, HTMLElement>();
  private eventCount = 0;

  constructor(private readonly options: RunViewOptions) {
    this.badge = el('span', { class: 'badge' }, 'sending…');
    const time = options.createdAt ? new Date(options.createdAt) : new Date();
    this.head = el(
      'div',
      { class: 'run-head' },
      el('span', { class: 'agent' }, options.agent),
      this.badge,
      el('time', { class: 'when', datetime: time.toISOString() }, time.toLocaleString()),
      el('span', { class: 'spacer' }),
    );
    this.inputBox = el('div', { class: 'user-input' });
    if (options.message !== undefined) this.inputBox.textContent = options.message;
    else if (options.input !== undefined) this.showInput(options.input);
    else this.inputBox.hidden = true;
    this.list = el('ol', { class: 'events', role: 'log', 'aria-live': 'polite', 'aria-label': `Events of the ${options.agent} run` });
    const body: HTMLElement[] = [this.head, this.inputBox];
    if (options.collapsed) {
      this.summary = el('summary', {}, 'Events');
      body.push(el('details', {}, this.summary, this.list));
    } else {
      body.push(this.list);
    }
    this.element = el('article', { class: 'run', 'data-testid': 'run-pending', 'data-status': 'pending', 'aria-busy': 'true' }, ...body);
  }

  /**
   * The server accepted the run: it becomes a `data-testid="run"` with its id, cancellable, and
   * `running` or `queued` (waiting for the runs before it on its thread) as the server said.
   */
  started(runId: string, status: 'running' | 'queued' = 'running'): void {
    this.runId = runId;
    this.element.dataset.testid = 'run';
    this.element.dataset.runId = runId;
    if (this.status === 'pending') this.setStatus(status);
  }

  /** Shows a past run's status and result from its record, until (or instead of) its events. */
  applyRecord(record: { status: RunStatus; result?: unknown; error?: { code: string; message: string }; usage?: RunUsage }): void {
    if (record.usage) this.showUsage(record.usage);
    if (!this.running) return;
    if (record.status === 'running' || record.status === 'queued' || record.status === 'waiting') {
      this.setStatus(record.status);
      return;
    }
    this.setStatus(record.status);
    if (record.status === 'completed') this.showResult('Result', record.result);
    else if (record.status === 'failed')
      this.showResult(`Error ${record.error?.code ?? ''}`.trim(), record.error?.message ?? 'The run failed.');
    // The reason is in the run's agent_cancelled event, which the replay brings next.
    else this.showResult('Cancelled', undefined);
  }

  /** The server refused to start the run (no run exists): shown as an alert, not as a run. */
  refused(code: string, message: string): void {
    this.status = 'refused';
    this.element.dataset.testid = 'run-refused';
    this.element.dataset.status = 'refused';
    this.element.removeAttribute('aria-busy');
    this.badge.textContent = 'refused';
    this.list.remove();
    this.element.append(el('p', { class: 'run-result error', role: 'alert' }, `${code}: ${message}`));
  }

  /** Following the run stopped without its terminal event (signed out, connection lost for good). */
  lost(message: string): void {
    if (!this.noteBox) {
      this.noteBox = el('p', { class: 'note', role: 'status' });
      this.element.append(this.noteBox);
    }
    this.noteBox.textContent = message;
  }

  /** Marks the cancel button as pressed (or not, when the cancel failed). */
  cancelling(pending: boolean): void {
    if (!this.cancelButton) return;
    this.cancelButton.setAttribute('aria-disabled', String(pending));
    this.cancelButton.textContent = pending ? 'Cancelling…' : 'Cancel';
  }

  /** Adds one event (the client delivers each exactly once, in order). */
  add(event: AnyAgentEvent): void {
    this.eventCount++;
    if (this.summary) this.summary.textContent = `Events (${this.eventCount})`;
    switch (event.type) {
      case 'agent_started':
        // A queued run's wait is over.
        if (this.status === 'queued' || this.status === 'pending') this.setStatus('running');
        if (this.inputBox.hidden && event.data.input !== undefined) this.showInput(event.data.input);
        this.item(event, 'Started ', el('code', {}, event.agent));
        break;
      case 'agent_thinking':
        this.item(event, `Thinking · step ${event.data.step}: ${event.data.thought}`);
        break;
      case 'tool_executing':
        this.item(event, 'Calling tool ', el('code', {}, event.data.tool), ' with', pre(event.data.args));
        break;
      case 'tool_completed':
        if (event.data.error !== undefined) {
          this.item(event, 'Tool ', el('code', {}, event.data.tool), ` failed after ${ms(event.data.durationMs)}: ${event.data.error}`);
        } else {
          this.item(event, 'Tool ', el('code', {}, event.data.tool), ` returned (${ms(event.data.durationMs)})`, pre(event.data.result));
        }
        break;
      case 'agent_message_delta':
        this.delta(event);
        break;
      case 'interrupt_requested':
        this.item(event, `Asks you: ${event.data.message}`);
        this.question(event.data);
        if (this.running) this.setStatus('waiting');
        break;
      case 'interrupt_resolved':
        this.item(event, `Answer: ${event.data.resolution}${event.data.reason ? ` (${event.data.reason})` : ''}`);
        this.answered(event.data.interruptId, event.data.resolution, event.data.reason);
        if (this.status === 'waiting') this.setStatus('running');
        break;
      case 'agent_resumed':
        // A durable run that lost its server goes on: what came before stays as it was shown.
        this.item(
          event,
          el('span', { class: 'resumed' }, `Resumed after ${event.data.reason === 'restart' ? 'a server restart' : 'its server was lost'}`),
          ` (attempt ${event.data.attempt}, after event ${event.data.afterSeq})`,
        );
        break;
      case 'agent_completed':
        this.item(event, `Completed in ${ms(event.data.durationMs)}`);
        this.end('completed', 'Result', event.data.result);
        if (event.data.usage) this.showUsage(event.data.usage);
        break;
      case 'agent_error':
        this.item(event, `Error ${event.data.code}`);
        this.end('failed', `Error ${event.data.code}`, event.data.message);
        break;
      case 'agent_cancelled':
        this.item(event, `Cancelled (${event.data.reason})`);
        this.end('cancelled', 'Cancelled', `reason: ${event.data.reason}`);
        break;
    }
  }

  /** Marks the answer buttons of a question as pressed (or not, when the answer failed). */
  answering(interruptId: string, pending: boolean): void {
    this.interrupts
      .get(interruptId)
      ?.querySelectorAll('button')
      .forEach((button) => button.setAttribute('aria-disabled', String(pending)));
  }

  /** Shows a refused answer next to its question (it stays open unless another answer won). */
  answerFailed(interruptId: string, message: string): void {
    const box = this.interrupts.get(interruptId);
    if (!box) return;
    let note = box.querySelector<HTMLElement>('.interrupt-error');
    if (!note) {
      note = el('p', { class: 'interrupt-error error', role: 'alert' });
      box.append(note);
    }
    note.textContent = message;
  }

  /** An open question: its message, the tool and arguments it is about, and the ways to answer it. */
  private question(data: InterruptRequestedData): void {
    const box = el(
      'div',
      {
        class: 'interrupt',
        'data-testid': 'interrupt',
        'data-interrupt-id': data.interruptId,
        'data-status': 'pending',
        role: 'group',
        'aria-label': 'Question',
      },
      el('p', { class: 'interrupt-message' }, el('strong', {}, data.message)),
    );
    if (data.tool !== undefined) box.append(el('p', {}, 'Tool ', el('code', {}, data.tool), data.args !== undefined ? ' with' : ''));
    if (data.args !== undefined) box.append(pre(data.args));
    const actions = el('div', { class: 'interrupt-actions' });
    const answer = (value: InterruptAnswer) => {
      if (box.dataset.status === 'pending' && actions.querySelector('[aria-disabled="true"]') === null) {
        this.options.onAnswer(this, data.interruptId, value);
      }
    };
    const button = (testid: string, label: string, value: () => InterruptAnswer | undefined, primary = false) => {
      const b = el('button', { type: 'button', 'data-testid': testid, class: primary ? '' : 'secondary' }, label) as HTMLButtonElement;
      b.addEventListener('click', () => {
        const v = value();
        if (v) answer(v);
      });
      return b;
    };
    if (data.kind === 'input') {
      const field = el('input', { type: 'text', 'data-testid': 'interrupt-response', 'aria-label': data.message }) as HTMLInputElement;
      const parse = (): InterruptAnswer | undefined => {
        const text = field.value.trim();
        if (!text) return undefined;
        try {
          return { response: JSON.parse(text) as unknown };
        } catch {
          return { response: text };
        }
      };
      actions.append(
        field,
        button('submit-response', 'Send', parse, true),
        button('deny', 'Decline', () => ({ approved: false })),
      );
    } else {
      actions.append(
        button('approve', 'Approve', () => ({ approved: true }), true),
        button('deny', 'Deny', () => ({ approved: false })),
      );
    }
    const expires = new Date(data.expiresAt);
    box.append(actions, el('p', { class: 'note' }, `Expires ${expires.toLocaleString()}`));
    this.interrupts.set(data.interruptId, box);
    this.element.insertBefore(box, this.resultBox ?? this.noteBox ?? null);
  }

  /** A question was answered (here, in another tab, over HTTP) or expired: its buttons go. */
  private answered(interruptId: string, resolution: string, reason?: string): void {
    const box = this.interrupts.get(interruptId);
    if (!box) return;
    box.dataset.status = resolution;
    box.querySelector('.interrupt-actions')?.remove();
    box.querySelector('.interrupt-error')?.remove();
    box.querySelector('.note')?.remove();
    box.append(el('p', { class: 'interrupt-outcome', role: 'status' }, `${resolution}${reason ? `: ${reason}` : ''}`));
  }

  /** Whether the run is still going or waiting to (as far as this view knows). */
  get running(): boolean {
    return this.status === 'running' || this.status === 'queued' || this.status === 'waiting' || this.status === 'pending';
  }

  private item(event: AnyAgentEvent, ...children: (Node | string)[]): void {
    this.list.append(el('li', { 'data-testid': 'event', 'data-type': event.type, 'data-seq': String(event.seq) }, ...children));
  }

  /** Deltas of one message are appended to one bubble; each is its own `event` element. */
  private delta(event: AgentEventEnvelope<'agent_message_delta'>): void {
    let bubble = this.messages.get(event.data.messageId);
    if (!bubble) {
      bubble = el('li', { class: 'message', 'data-message-id': event.data.messageId });
      this.messages.set(event.data.messageId, bubble);
      this.list.append(bubble);
    }
    bubble.append(el('span', { 'data-testid': 'event', 'data-type': event.type, 'data-seq': String(event.seq) }, event.data.delta));
  }

  private end(status: RunStatus, label: string, value: unknown): void {
    this.setStatus(status);
    this.showResult(label, value);
  }

  private showResult(label: string, value: unknown): void {
    this.resultBox?.remove();
    const content = value === undefined ? [] : typeof value === 'string' ? [el('span', {}, value)] : [pre(value)];
    // Without a value (a cancelled run's record, before its event says why) no dangling colon.
    const heading = value === undefined ? label : `${label}: `;
    this.resultBox = el('div', { class: 'run-result', 'data-testid': 'run-result', role: 'status' }, el('strong', {}, heading), ...content);
    this.element.insertBefore(this.resultBox, this.noteBox ?? null);
  }

  /** The tokens of the run's model calls, under its result. */
  private showUsage({ inputTokens, outputTokens }: RunUsage): void {
    this.usageBox ??= el('p', { class: 'run-usage', 'data-testid': 'run-usage' });
    this.usageBox.textContent = `${inputTokens + outputTokens} tokens (${inputTokens} in, ${outputTokens} out)`;
    this.element.insertBefore(this.usageBox, this.noteBox ?? null);
  }

  private showInput(input: unknown): void {
    this.inputBox.hidden = false;
    const text = isTextInput(input) ? input.text : JSON.stringify(input, null, 2);
    this.inputBox.textContent = text;
  }

  private setStatus(status: ViewStatus): void {
    this.status = status;
    this.element.dataset.status = status;
    this.badge.textContent =
      status === 'queued' ? 'queued: waits for the run before it' : status === 'waiting' ? 'waiting for your answer' : status;
    // Queued and waiting runs can be cancelled too.
    if (status === 'running' || status === 'queued' || status === 'waiting') {
      this.element.setAttribute('aria-busy', 'true');
      if (!this.cancelButton) {
        this.cancelButton = el(
          'button',
          { type: 'button', class: 'secondary', 'data-testid': 'cancel-run', 'aria-label': `Cancel the ${this.options.agent} run` },
          'Cancel',
        ) as HTMLButtonElement;
        this.cancelButton.addEventListener('click', () => {
          if (this.cancelButton?.getAttribute('aria-disabled') !== 'true') this.options.onCancel(this);
        });
        this.head.append(this.cancelButton);
      }
      return;
    }
    this.element.removeAttribute('aria-busy');
    if (this.cancelButton) {
      const hadFocus = document.activeElement === this.cancelButton;
      this.cancelButton.remove();
      this.cancelButton = undefined;
      if (hadFocus) this.options.onFocusLost();
    }
  }
}

/** A duration for people: whole milliseconds, one decimal below 10 ms. */
function ms(value: number): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${value < 10 ? value.toFixed(1) : Math.round(value)} ms` : '? ms';
}

function isTextInput(input: unknown): input is { text: string } {
  return (
    typeof input === 'object' && input !== null && Object.keys(input).length === 1 && typeof (input as { text?: unknown }).text === 'string'
  );
}

function pre(value: unknown): HTMLElement {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value, null, 2) ?? String(value));
  } catch {
    text = String(value);
  }
  return el('pre', {}, text);
}

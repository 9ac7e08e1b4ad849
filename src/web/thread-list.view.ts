import type { ThreadEntry } from '@agent-pipeline/client';
import type { ThreadActivity } from './run-activity';

type ThreadSummary = ThreadEntry;

/** What the conversation list asks its page to do. */
export interface ThreadListActions {
  open(threadId: string): void;
  remove(thread: ThreadSummary): void;
}

/**
 * The list of the user's conversations (`data-testid="thread-list"`): one item per thread
 * (`data-testid="thread"`, `data-thread-id`), newest first, each a button that reopens it and a
 * delete button (`data-testid="delete-thread"`). The open one is marked `aria-current`. A thread
 * with a run going shows it (`data-activity`, `data-testid="thread-activity"`: "running", or
 * "waiting for your answer"), wherever that run was started.
 */
export class ThreadListView {
  private threads: ThreadSummary[] = [];
  private current?: string;
  /** Tells a thread's activity; asked at every render and by {@link refreshActivity}. */
  private activityOf: (thread: ThreadSummary) => ThreadActivity = () => undefined;

  constructor(
    private readonly list: HTMLElement,
    private readonly actions: ThreadListActions,
  ) {}

  show(threads: ThreadSummary[]): void {
    this.threads = threads;
    this.render();
  }

  select(threadId: string | undefined): void {
    this.current = threadId;
    for (const item of Array.from(this.list.children) as HTMLElement[]) {
      const open = item.querySelector<HTMLButtonElement>('.thread-open');
      if (item.dataset.threadId === threadId) open?.setAttribute('aria-current', 'true');
      else open?.removeAttribute('aria-current');
    }
  }

  /** Whether the list shows this thread. */
  has(threadId: string): boolean {
    return this.threads.some((t) => t.threadId === threadId);
  }

  /** Sets how a thread's activity is told, and shows it. */
  trackActivity(activityOf: (thread: ThreadSummary) => ThreadActivity): void {
    this.activityOf = activityOf;
    for (const thread of this.threads) this.refreshActivity(thread.threadId);
  }

  /** Shows a thread's activity as it is now. */
  refreshActivity(threadId: string): void {
    const thread = this.threads.find((t) => t.threadId === threadId);
    const item = Array.from(this.list.children).find((li) => (li as HTMLElement).dataset.threadId === threadId) as HTMLElement | undefined;
    if (!thread || !item) return;
    const activity = this.activityOf(thread);
    const badge = item.querySelector<HTMLElement>('.thread-activity')!;
    badge.hidden = activity === undefined;
    badge.textContent = activity === 'waiting' ? 'waiting for your answer' : (activity ?? '');
    if (activity) item.dataset.activity = activity;
    else delete item.dataset.activity;
  }

  forget(threadId: string): void {
    this.show(this.threads.filter((t) => t.threadId !== threadId));
  }

  private render(): void {
    this.list.replaceChildren(...this.threads.map((t) => this.item(t)));
    this.select(this.current);
    for (const thread of this.threads) this.refreshActivity(thread.threadId);
  }

  private item(thread: ThreadSummary): HTMLElement {
    const li = document.createElement('li');
    li.dataset.testid = 'thread';
    li.dataset.threadId = thread.threadId;
    li.dataset.status = thread.lastStatus;
    const title = thread.title || '(no text)';
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'thread-open secondary';
    const name = document.createElement('span');
    name.className = 'thread-title';
    name.textContent = title;
    const meta = document.createElement('span');
    meta.className = 'thread-meta';
    meta.textContent = `${thread.agent} · ${thread.runs} run${thread.runs === 1 ? '' : 's'} · ${formatWhen(thread.lastRunAt)}`;
    const activity = document.createElement('span');
    activity.className = 'thread-activity';
    activity.dataset.testid = 'thread-activity';
    activity.setAttribute('role', 'status');
    activity.hidden = true;
    open.append(name, meta, activity);
    open.addEventListener('click', () => this.actions.open(thread.threadId));
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary thread-delete';
    remove.dataset.testid = 'delete-thread';
    remove.textContent = 'Delete';
    remove.setAttribute('aria-label', `Delete conversation: ${title}`);
    remove.addEventListener('click', () => this.actions.remove(thread));
    li.append(open, remove);
    return li;
  }
}

function formatWhen(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

/**
 * The chat page's script (bundled by scripts/build-web.js into app.js): sign-in, agent picker,
 * message box (or a form built from the agent's input schema), live runs with cancel, connection
 * indicator, conversations and past runs. It talks to the server through {@link AgentPipelineClient},
 * so runs survive reconnects without losing or repeating events, and it follows every run of its
 * user, wherever it was started (another tab or device, HTTP, AG-UI, the AI SDK, MCP).
 */
import {
  AgentPipelineClient,
  type ConnectionStatusChange,
  type RunEvents,
  type ThreadEntry,
  isAgentPipelineError,
} from '@agent-pipeline/client';
import type { AgentInfo, AnyAgentEvent, InterruptAnswer } from '@agent-pipeline/protocol';
import { fetchDevAuth, NO_DEV_TOKENS_MESSAGE, requestDevToken } from './chat-page.api';
import { ComposerView, fieldProblemsOf } from './composer.view';
import { RunActivity } from './run-activity';
import { RunDiscovery } from './run-discovery';
import { RunView } from './run.view';
import { ThreadListView } from './thread-list.view';

const TOKEN_KEY = 'agent-pipeline.token';
const AGENT_KEY = 'agent-pipeline.agent';
const HISTORY_LIMIT = 20;
const THREADS_LIMIT = 50;
/** Events of several runs may each ask for the conversation list again: one reload covers them. */
const THREADS_RELOAD_DELAY_MS = 100;

class ChatPage {
  private readonly client = new AgentPipelineClient();
  private token?: string;
  private user = '';
  /** Whether the server hands out development tokens; undefined until (or unless) it says. */
  private devAuth?: boolean;
  private readonly shown = new Set<string>();
  /**
   * The thread of the open conversation: every message continues it (so the assistant remembers
   * the earlier ones), and messages sent while an answer is still coming wait for it (the server
   * queues them on the thread) instead of running beside it. Kept in sessionStorage, so a reload
   * reopens it.
   */
  private threadId = newThreadId();
  private readonly ui = {
    status: byId<HTMLElement>('connection-status'),
    whoami: byId<HTMLElement>('whoami'),
    signOut: byId<HTMLButtonElement>('sign-out'),
    login: byId<HTMLElement>('login'),
    loginForm: byId<HTMLFormElement>('login-form'),
    tokenLabel: byId<HTMLLabelElement>('token-label'),
    loginHint: byId<HTMLElement>('login-hint'),
    tokenInput: byId<HTMLInputElement>('token-input'),
    connect: byId<HTMLButtonElement>('connect'),
    loginError: byId<HTMLElement>('login-error'),
    chat: byId<HTMLElement>('chat'),
    historyList: byId<HTMLElement>('history-list'),
    historyNote: byId<HTMLElement>('history-note'),
    conversation: byId<HTMLElement>('conversation'),
    composer: byId<HTMLFormElement>('composer'),
    agentSelect: byId<HTMLSelectElement>('agent-select'),
    messageInput: byId<HTMLTextAreaElement>('message-input'),
    agentHint: byId<HTMLElement>('agent-hint'),
    sendError: byId<HTMLElement>('send-error'),
    newThread: byId<HTMLButtonElement>('new-thread'),
    threadsError: byId<HTMLElement>('threads-error'),
  };
  private readonly composer = new ComposerView({
    message: this.ui.messageInput,
    messageLabel: byId<HTMLElement>('message-label'),
    form: byId<HTMLElement>('input-form'),
    error: this.ui.sendError,
  });
  /** What every thread is doing, from the events of all the user's runs. */
  private readonly activity = new RunActivity();
  /** Runs of the user this page did not start and does not show yet: they are shown as they come. */
  private readonly discovery = new RunDiscovery((event) => this.showDiscoveredRun(event));
  private threadsReload?: ReturnType<typeof setTimeout>;
  private readonly threadList = new ThreadListView(byId<HTMLElement>('thread-list'), {
    open: (threadId) => void this.openThread(threadId),
    remove: (thread) => void this.removeThread(thread),
  });
  private readonly defaultHint = this.ui.agentHint.textContent ?? '';
  private agents: AgentInfo[] = [];

  start(): void {
    this.client.onStatus((change) => this.showStatus(change));
    this.client.on('*', (event) => this.onAnyEvent(event as AnyAgentEvent));
    this.threadList.trackActivity((thread) => this.activity.of(thread.threadId, thread.lastStatus));
    this.ui.loginForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.onLogin();
    });
    this.ui.composer.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    this.ui.messageInput.addEventListener('keydown', (e) => {
      // Enter sends; Shift+Enter (or an IME composition) inserts a new line.
      if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
        e.preventDefault();
        this.ui.composer.requestSubmit();
      }
    });
    this.ui.agentSelect.addEventListener('change', () => this.onAgentChange());
    this.ui.signOut.addEventListener('click', () => this.signOut());
    this.ui.newThread.addEventListener('click', () => this.newConversation());
    void fetchDevAuth().then((devAuth) => this.showAuthMode(devAuth));
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) void this.signIn(saved, true);
    else this.ui.tokenInput.focus();
  }

  /** Offers sign-in by user name only on a development server; elsewhere asks for an access token. */
  private showAuthMode(devAuth: boolean | undefined): void {
    this.devAuth = devAuth;
    if (devAuth === undefined) return; // the server does not say: keep offering both
    this.ui.loginForm.dataset.devAuth = String(devAuth);
    if (devAuth) {
      this.ui.tokenLabel.textContent = 'User name or access token';
      this.ui.loginHint.textContent = 'This is a development server: any user name gets a token. You can also paste a JWT.';
    } else {
      this.ui.tokenLabel.textContent = 'Access token';
      this.ui.loginHint.textContent = 'Paste an access token (a JWT) from the identity provider this server trusts.';
    }
  }

  private async onLogin(): Promise<void> {
    const value = this.ui.tokenInput.value.trim();
    this.ui.loginError.textContent = '';
    if (!value) {
      this.ui.loginError.textContent = 'Enter a user name or paste a token.';
      this.ui.tokenInput.focus();
      return;
    }
    this.ui.connect.setAttribute('aria-disabled', 'true');
    try {
      let token = value;
      if (!looksLikeJwt(value)) {
        if (this.devAuth === false) {
          this.ui.loginError.textContent = NO_DEV_TOKENS_MESSAGE;
          this.ui.tokenInput.focus();
          return;
        }
        const outcome = await requestDevToken(value);
        if (!('token' in outcome)) {
          this.ui.loginError.textContent = outcome.message;
          this.ui.tokenInput.focus();
          return;
        }
        token = outcome.token;
      }
      await this.signIn(token, false);
    } catch (err) {
      this.ui.loginError.textContent = `Could not sign in: ${(err as Error).message}`;
    } finally {
      this.ui.connect.removeAttribute('aria-disabled');
    }
  }

  private async signIn(token: string, restoring: boolean): Promise<void> {
    try {
      await this.client.connect({ url: '', token });
    } catch (err) {
      if (!isAgentPipelineError(err, 'UNAUTHORIZED')) {
        // The server could not be reached: a saved token stays for the next reload.
        this.showLogin(`Could not connect: ${(err as Error).message}`);
        return;
      }
      sessionStorage.removeItem(TOKEN_KEY);
      this.showLogin(
        restoring
          ? 'Your saved session is no longer valid (a development server forgets its tokens when it restarts): sign in again.'
          : 'The server refused this token.',
      );
      return;
    }
    this.token = token;
    this.user = subjectOf(token) ?? 'unknown user';
    sessionStorage.setItem(TOKEN_KEY, token);
    this.ui.whoami.textContent = `Signed in as ${this.user}`;
    this.ui.login.hidden = true;
    this.ui.chat.hidden = false;
    this.ui.composer.hidden = false;
    this.ui.signOut.hidden = false;
    this.ui.messageInput.focus();
    await Promise.all([this.loadAgents(), this.loadHistory(), this.loadThreads()]);
    const saved = sessionStorage.getItem(this.threadKey());
    if (saved) await this.openThread(saved, true);
    else this.threadList.select(undefined);
  }

  private threadKey(): string {
    return `agent-pipeline.thread.${this.user}`;
  }

  /** The user's conversations, newest first (`GET /threads`), the open one marked. */
  private async loadThreads(): Promise<void> {
    try {
      this.threadList.show((await this.client.listThreads({ limit: THREADS_LIMIT })).threads);
      this.threadList.select(this.threadId);
    } catch (err) {
      this.ui.threadsError.textContent = `Could not load the conversations: ${(err as Error).message}`;
    }
  }

  /** Reloads the conversation list soon, once for a burst of events. */
  private scheduleThreadsReload(): void {
    if (this.threadsReload || !this.token) return;
    this.threadsReload = setTimeout(() => {
      void this.loadThreads().finally(() => (this.threadsReload = undefined));
    }, THREADS_RELOAD_DELAY_MS);
  }

  /**
   * Every event of every run of the user (the socket receives them all): the thread's activity in
   * the conversation list, and runs the page does not show yet.
   */
  private onAnyEvent(event: AnyAgentEvent): void {
    const threadId = this.activity.observe(event);
    this.threadList.refreshActivity(threadId);
    // A new thread, or the end of a run (its count and status in the list): the list is stale.
    if (RunActivity.ends(event) || !this.threadList.has(threadId)) this.scheduleThreadsReload();
    this.discovery.observe(event);
  }

  /**
   * A run started elsewhere: in the open conversation when it is on its thread, else at the top
   * of the past runs; followed live from its first event either way (its question can be answered here).
   */
  private showDiscoveredRun(event: AnyAgentEvent): void {
    const onThread = event.threadId === this.threadId;
    const view = this.newView({ agent: event.agent, createdAt: event.ts, collapsed: !onThread });
    view.started(event.runId);
    view.element.dataset.threadId = event.threadId;
    if (onThread) {
      this.ui.conversation.append(view.element);
    } else {
      this.shown.add(event.runId);
      this.ui.historyList.prepend(view.element);
    }
    void this.consume(view, this.client.follow(event.runId));
  }

  /** Starts a new conversation: the next message opens a new thread. */
  private newConversation(): void {
    this.threadId = newThreadId();
    sessionStorage.removeItem(this.threadKey());
    this.ui.conversation.replaceChildren();
    this.threadList.select(undefined);
    this.ui.threadsError.textContent = '';
    this.ui.messageInput.focus();
  }

  /** Reopens one of the user's threads: its runs and their results, and the next message continues it. */
  private async openThread(threadId: string, restoring = false): Promise<void> {
    this.ui.threadsError.textContent = '';
    const runs = await this.client.getThread(threadId).then(
      (thread) => thread.runs,
      (err: unknown) => {
        if (!isAgentPipelineError(err, 'THREAD_NOT_FOUND')) this.ui.threadsError.textContent = (err as Error).message;
        return undefined;
      },
    );
    if (!runs) {
      // Deleted meanwhile (maybe in another tab): a reload starts afresh; a click says why.
      if (restoring) this.newConversation();
      else this.ui.threadsError.textContent ||= 'This conversation no longer exists.';
      return;
    }
    this.threadId = threadId;
    sessionStorage.setItem(this.threadKey(), threadId);
    this.threadList.select(threadId);
    this.ui.conversation.replaceChildren();
    for (const record of runs) {
      this.discovery.know(record.runId);
      const view = this.newView({ agent: record.agent, input: record.input, createdAt: record.createdAt });
      view.started(record.runId);
      view.applyRecord(record);
      this.ui.conversation.append(view.element);
      // Replays the stored events (and follows the run live if it is still going).
      void this.consume(view, this.client.follow(record.runId));
    }
    if (!restoring) this.ui.messageInput.focus();
  }

  /** Deletes a conversation for good, after the user confirms. */
  private async removeThread(thread: ThreadEntry): Promise<void> {
    this.ui.threadsError.textContent = '';
    const title = thread.title || 'this conversation';
    if (!confirm(`Delete "${title}"? Its messages, results and the assistant's memory of it are deleted for good.`)) return;
    try {
      await this.client.deleteThread(thread.threadId);
    } catch (err) {
      if (!isAgentPipelineError(err, 'THREAD_NOT_FOUND')) {
        this.ui.threadsError.textContent = isAgentPipelineError(err, 'THREAD_BUSY')
          ? 'An answer of this conversation is still coming: cancel it or wait, then delete.'
          : (err as Error).message;
        return;
      }
    }
    this.threadList.forget(thread.threadId);
    for (const view of Array.from(this.ui.historyList.querySelectorAll<HTMLElement>('[data-testid="run"]'))) {
      if (view.dataset.threadId === thread.threadId) view.remove();
    }
    if (thread.threadId === this.threadId) this.newConversation();
    else this.ui.messageInput.focus();
  }

  private signOut(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    this.client.close();
    location.reload();
  }

  private showLogin(message: string): void {
    this.ui.login.hidden = false;
    this.ui.chat.hidden = true;
    this.ui.composer.hidden = true;
    this.ui.signOut.hidden = true;
    this.ui.whoami.textContent = '';
    this.ui.loginError.textContent = message;
    this.ui.tokenInput.focus();
  }

  private showStatus(change: ConnectionStatusChange): void {
    const { status } = change;
    let text: string;
    switch (status) {
      case 'idle':
        text = 'signed out';
        break;
      case 'connecting':
        text = 'connecting…';
        break;
      case 'connected':
        text = 'connected';
        break;
      case 'reconnecting':
        text = change.attempt ? `reconnecting… (attempt ${change.attempt})` : 'reconnecting…';
        break;
      case 'disconnected':
        text = change.reason === 'closed' || change.error?.code === 'UNAUTHORIZED' ? 'signed out' : 'offline';
        break;
    }
    this.ui.status.dataset.state = status;
    this.ui.status.textContent = text;
    if (status === 'disconnected' && change.error && this.token) {
      this.token = undefined;
      sessionStorage.removeItem(TOKEN_KEY);
      if (change.reason === 'session_expired') {
        // Ask once for a new token rather than reconnecting with the expired one over and over;
        // on a development server the same user name gets a fresh one.
        this.ui.tokenInput.value = this.devAuth ? this.user : '';
        this.showLogin(
          this.devAuth ? 'Your session expired: sign in again to continue.' : 'Your session expired: paste a new access token to continue.',
        );
        return;
      }
      this.showLogin(
        change.error.code === 'UNAUTHORIZED'
          ? 'The server no longer accepts your token (it expired, or a development server restarted): sign in again.'
          : `Connection lost: ${change.error.message}`,
      );
    }
  }

  private async loadAgents(): Promise<void> {
    this.agents = await this.client.listAgents().catch((err: unknown) => {
      this.ui.sendError.textContent = `Could not list the agents: ${(err as Error).message}`;
      return [];
    });
    const select = this.ui.agentSelect;
    select.replaceChildren(
      ...this.agents.map((a) => {
        const option = document.createElement('option');
        option.value = a.name;
        option.textContent = a.name;
        option.title = a.description;
        return option;
      }),
    );
    const preferred = localStorage.getItem(AGENT_KEY);
    if (preferred && this.agents.some((a) => a.name === preferred)) select.value = preferred;
    this.onAgentChange();
  }

  private onAgentChange(): void {
    const name = this.ui.agentSelect.value;
    const agent = this.agents.find((a) => a.name === name);
    if (name) localStorage.setItem(AGENT_KEY, name);
    this.composer.choose(agent);
    this.ui.agentHint.textContent = agent ? `${agent.description} ${this.composer.describe()} ${this.defaultHint}` : this.defaultHint;
  }

  /** The user's latest runs (`GET /runs`), each followed live while it is still going. */
  private async loadHistory(): Promise<void> {
    let records;
    try {
      records = (await this.client.listRuns({ limit: HISTORY_LIMIT })).runs;
      this.ui.historyNote.hidden = true;
    } catch (err) {
      this.ui.historyNote.hidden = false;
      this.ui.historyNote.textContent = `Could not load the past runs: ${(err as Error).message}`;
      return;
    }
    for (const record of records) {
      this.discovery.know(record.runId);
      if (this.shown.has(record.runId)) continue;
      this.shown.add(record.runId);
      const view = this.newView({ agent: record.agent, input: record.input, createdAt: record.createdAt, collapsed: true });
      view.started(record.runId);
      view.applyRecord(record);
      view.element.dataset.threadId = record.threadId;
      this.ui.historyList.append(view.element);
      // Replays the stored events (and follows the run live if it is still going).
      void this.consume(view, this.client.follow(record.runId));
    }
  }

  private send(): void {
    const agent = this.ui.agentSelect.value;
    this.ui.sendError.textContent = '';
    if (!agent) {
      this.ui.sendError.textContent = 'Pick an agent first.';
      return;
    }
    const composed = this.composer.compose();
    if (!composed) return;
    this.ui.messageInput.value = '';
    const view = this.newView({ agent, message: composed.message, input: composed.input });
    this.ui.conversation.append(view.element);
    view.element.scrollIntoView({ block: 'nearest' });
    const threadId = this.threadId;
    this.discovery.startBegan();
    const run = this.client.run(agent, composed.input, { threadId, multitask: 'enqueue' });
    run.started.then(
      ({ runId, status }) => {
        this.discovery.startSettled(runId);
        this.shown.add(runId);
        // A start sent again after a drop may find its run further along: its events tell the rest.
        view.started(runId, status === 'queued' ? 'queued' : 'running');
        this.composer.reset();
        // The open conversation now exists on the server: a reload reopens it, the list shows it.
        sessionStorage.setItem(this.threadKey(), threadId);
        void this.loadThreads().then(() => this.threadList.select(this.threadId));
      },
      (err: unknown) => {
        this.discovery.startSettled();
        const code = isAgentPipelineError(err) ? err.code : 'ERROR';
        view.refused(code, (err as Error).message);
        if (isAgentPipelineError(err, 'VALIDATION_FAILED')) this.composer.refused(fieldProblemsOf(err.details));
      },
    );
    void this.consume(view, run);
  }

  private cancel(view: RunView): void {
    if (!view.runId) return;
    view.cancelling(true);
    this.client.cancel(view.runId).catch((err: unknown) => {
      if (isAgentPipelineError(err, 'RUN_FINISHED')) return;
      view.cancelling(false);
      view.lost(`Cancel failed: ${(err as Error).message}`);
    });
  }

  /** Answers a run's question; every tab of the user sees the outcome through the run's events. */
  private answer(view: RunView, interruptId: string, answer: InterruptAnswer): void {
    if (!view.runId) return;
    view.answering(interruptId, true);
    this.client.resume(view.runId, interruptId, answer).then(
      () => view.answering(interruptId, false),
      (err: unknown) => {
        view.answering(interruptId, false);
        // Another tab (or the clock) got there first: its interrupt_resolved event updates the view.
        if (isAgentPipelineError(err, 'INTERRUPT_RESOLVED')) return;
        view.answerFailed(interruptId, `Answer refused: ${(err as Error).message}`);
      },
    );
  }

  /** Feeds a run's events (each once, in order) into its view until its terminal event. */
  private async consume(view: RunView, events: RunEvents): Promise<void> {
    try {
      for await (const event of events) {
        const pinned = nearBottom();
        view.add(event);
        if (pinned && view.element.parentElement === this.ui.conversation) window.scrollTo({ top: document.body.scrollHeight });
      }
    } catch (err) {
      if (!view.runId) return; // the start was refused: the view already says so
      view.lost(`Stopped following this run: ${(err as Error).message}`);
    }
  }

  private newView(options: { agent: string; message?: string; input?: unknown; createdAt?: string; collapsed?: boolean }): RunView {
    return new RunView({
      ...options,
      onCancel: (view) => this.cancel(view),
      onAnswer: (view, interruptId, answer) => this.answer(view, interruptId, answer),
      onFocusLost: () => this.ui.messageInput.focus(),
    });
  }
}

function newThreadId(): string {
  return `chat-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** A JWT's header always starts with `{"` (base64url `eyJ`); user names do not. */
function looksLikeJwt(value: string): boolean {
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(value);
}

/** The `sub` of a JWT, read without verifying (for display only). */
function subjectOf(token: string): string | undefined {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '='));
    const payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    return typeof payload?.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

function nearBottom(): boolean {
  return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
}

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`The chat page is missing #${id}.`);
  return node as T;
}

if (typeof document !== 'undefined') new ChatPage().start();

import type { AgentInfo } from '@agent-pipeline/protocol';
import { inputModeOf, parseJsonObject, textInput, type InputMode } from './agent-input';
import { InputFormView, type FieldProblem } from './input-form.view';

/** What the composer gives to send: the agent's input, and the text to show as the user's message. */
export interface ComposedInput {
  input: Record<string, unknown>;
  /** The text typed, when the input came from it (a form's input is shown as JSON instead). */
  message?: string;
}

/** Example messages of the demo agents, shown as the message box's placeholder. */
const EXAMPLES: Record<string, string> = {
  echo: 'Hello, agent!',
  calculator: '(1.5 + 2) * 4',
  approval: 'deploy to production',
};

/**
 * The composer's input side: for the chosen agent, the message box alone (its text goes into the
 * agent's one required string property, or `{ text }` for an agent without properties) or the
 * message box above a form of the agent's properties; a JSON object typed in is sent as it is.
 */
export class ComposerView {
  private mode: InputMode = { kind: 'free' };
  private readonly form: InputFormView;

  constructor(private readonly ui: { message: HTMLTextAreaElement; messageLabel: HTMLElement; form: HTMLElement; error: HTMLElement }) {
    this.form = new InputFormView(ui.form);
  }

  /** Switches to an agent (or none). */
  choose(agent: AgentInfo | undefined): void {
    this.mode = inputModeOf(agent?.inputSchema);
    const name = agent?.name ?? '';
    this.form.show(name, this.mode.kind === 'form' ? this.mode.fields : []);
    this.ui.error.textContent = '';
    if (this.mode.kind === 'form') {
      this.ui.messageLabel.textContent = 'Fill in the fields below, or type a JSON object';
      this.ui.message.placeholder = '{"…": …} (leave empty to send the fields below)';
    } else {
      this.ui.messageLabel.textContent = 'Message';
      const into = this.mode.kind === 'text' ? ` (sent as ${this.mode.property})` : '';
      this.ui.message.placeholder = EXAMPLES[name] ? `e.g. ${EXAMPLES[name]}${into}` : `Type a message${into}`;
    }
  }

  /** A short description of how input is taken, for the agent hint. */
  describe(): string {
    if (this.mode.kind === 'text') return `Your text is sent as "${this.mode.property}".`;
    if (this.mode.kind === 'form') return 'Fill in its fields, or type a JSON object.';
    return '';
  }

  /** The input to send, or `undefined` (nothing typed, or errors now shown next to their fields). */
  compose(): ComposedInput | undefined {
    this.ui.error.textContent = '';
    const text = this.ui.message.value.trim();
    if (this.mode.kind !== 'form') {
      this.form.clearErrors();
      return text ? { input: textInput(text, this.mode), message: text } : undefined;
    }
    if (text) {
      const object = parseJsonObject(text);
      if (object) return { input: object, message: text };
      this.ui.error.textContent = 'This agent takes the fields below, or a JSON object in the message box.';
      return undefined;
    }
    const outcome = this.form.read();
    if ('errors' in outcome) {
      this.form.focus();
      return undefined;
    }
    return { input: outcome.input };
  }

  /** Empties what was sent. */
  reset(): void {
    this.ui.message.value = '';
    this.form.reset();
  }

  /** The server refused the input (`VALIDATION_FAILED`): its field errors go next to the fields, the rest below the box. */
  refused(problems: FieldProblem[]): void {
    const rest = this.mode.kind === 'form' ? this.form.showProblems(problems) : problems;
    if (rest.length > 0) this.ui.error.textContent = rest.map((p) => `${p.field} ${p.errors.join(', ')}`).join('; ');
  }
}

/** The field errors of a `VALIDATION_FAILED` refusal's `details`, or none. */
export function fieldProblemsOf(details: unknown): FieldProblem[] {
  const fields = (details as { fields?: unknown } | undefined)?.fields;
  if (!Array.isArray(fields)) return [];
  return fields.filter(
    (f): f is FieldProblem =>
      typeof f?.field === 'string' && Array.isArray(f?.errors) && f.errors.every((e: unknown) => typeof e === 'string'),
  );
}

import { fieldHint, formInput, type FormOutcome, type InputField } from './agent-input';
import { el } from './dom';

/** One field error as the server's `VALIDATION_FAILED` names it (`details.fields`). */
export interface FieldProblem {
  field: string;
  errors: string[];
}

/**
 * The composer's form for an agent whose input is more than one text (`data-testid="input-form"`):
 * one labelled control per property of its schema (`data-testid="input-field"`, `data-field`),
 * typed from the schema (number inputs with the schema's range, a checkbox, a choice list, text
 * with its length), the property's description and a hint of what it takes, and its error
 * (`data-testid="field-error"`) right below it.
 */
export class InputFormView {
  private fields: InputField[] = [];
  private readonly controls = new Map<string, HTMLInputElement | HTMLSelectElement>();
  private readonly errors = new Map<string, HTMLElement>();

  constructor(private readonly container: HTMLElement) {}

  /** Shows the fields of one agent (none hides the form). */
  show(agent: string, fields: InputField[]): void {
    this.fields = fields;
    this.controls.clear();
    this.errors.clear();
    this.container.replaceChildren(...fields.map((field) => this.row(agent, field)));
    this.container.hidden = fields.length === 0;
  }

  /** Whether the form is shown. */
  get active(): boolean {
    return this.fields.length > 0;
  }

  /** The input the fields give, or their errors (shown next to them). */
  read(): FormOutcome {
    this.clearErrors();
    const raw: Record<string, string | boolean> = {};
    for (const [name, control] of this.controls) {
      raw[name] = control instanceof HTMLInputElement && control.type === 'checkbox' ? control.checked : control.value;
    }
    const outcome = formInput(this.fields, raw);
    if ('errors' in outcome) for (const [field, message] of Object.entries(outcome.errors)) this.showError(field, [message]);
    return outcome;
  }

  /**
   * Shows the server's field errors next to their fields; returns the ones no field of the form
   * owns (for the composer to show as a whole).
   */
  showProblems(problems: FieldProblem[]): FieldProblem[] {
    this.clearErrors();
    const rest: FieldProblem[] = [];
    for (const problem of problems) {
      const top = problem.field.split(/[.[]/)[0];
      if (this.controls.has(top))
        this.showError(top, problem.field === top ? problem.errors : problem.errors.map((e) => `${problem.field} ${e}`));
      else rest.push(problem);
    }
    return rest;
  }

  /** Empties the fields after a send. */
  reset(): void {
    for (const control of this.controls.values()) {
      if (control instanceof HTMLInputElement && control.type === 'checkbox') control.checked = false;
      else control.value = '';
    }
    this.clearErrors();
  }

  /** Moves focus to the first field. */
  focus(): void {
    this.controls.values().next().value?.focus();
  }

  clearErrors(): void {
    for (const [name, box] of this.errors) {
      box.textContent = '';
      box.hidden = true;
      this.controls.get(name)?.removeAttribute('aria-invalid');
    }
  }

  private showError(name: string, messages: string[]): void {
    const box = this.errors.get(name);
    if (!box) return;
    box.textContent = messages.map((m) => `${name} ${m}`).join('; ');
    box.hidden = false;
    this.controls.get(name)?.setAttribute('aria-invalid', 'true');
  }

  private row(agent: string, field: InputField): HTMLElement {
    const id = `input-${agent}-${field.name}`.replace(/[^\w-]/g, '_');
    const control = this.control(field, id);
    const hint = el('span', { class: 'hint', id: `${id}-hint` }, [field.description, fieldHint(field)].filter(Boolean).join(' · '));
    const error = el('p', {
      class: 'error field-error',
      'data-testid': 'field-error',
      'data-field': field.name,
      id: `${id}-error`,
      role: 'alert',
    });
    error.hidden = true;
    control.setAttribute('aria-describedby', `${id}-hint ${id}-error`);
    this.controls.set(field.name, control);
    this.errors.set(field.name, error);
    const label = el('label', { for: id }, field.name, field.required ? el('span', { 'aria-hidden': 'true' }, ' *') : '');
    const row = el('div', {
      class: `input-field${field.kind === 'boolean' ? ' inline' : ''}`,
      'data-testid': 'input-field',
      'data-field': field.name,
    });
    row.append(...(field.kind === 'boolean' ? [control, label] : [label, control]), hint, error);
    return row;
  }

  private control(field: InputField, id: string): HTMLInputElement | HTMLSelectElement {
    if (field.kind === 'choice') {
      const select = el('select', { id, name: field.name });
      const options = (field.required ? [] : ['']).concat((field.choices ?? []).map(String));
      select.append(...options.map((value) => el('option', { value }, value || '(none)')));
      return select;
    }
    const input = el('input', { id, name: field.name, autocomplete: 'off' });
    if (field.kind === 'boolean') {
      input.type = 'checkbox';
      return input;
    }
    if (field.kind === 'integer' || field.kind === 'number') {
      input.type = 'number';
      input.step = field.kind === 'integer' ? '1' : 'any';
      if (field.minimum !== undefined) input.min = String(field.minimum);
      if (field.maximum !== undefined) input.max = String(field.maximum);
      input.inputMode = field.kind === 'integer' ? 'numeric' : 'decimal';
    } else {
      input.type = 'text';
      if (field.maxLength !== undefined) input.maxLength = field.maxLength;
    }
    if (field.required) input.setAttribute('aria-required', 'true');
    return input;
  }
}

import { html } from './html';
import { type MessageKey, translator } from './i18n';
import { type CaptchaChallenge, captchaFields, csrfField, layout, messages, type PageContext } from './pages';

export interface FlowField {
  name: string;
  label: MessageKey;
  type: 'text' | 'email' | 'password' | 'tel';
  value?: string;
  autocomplete?: string;
  hint?: MessageKey;
}

/** One form of a flow page: visible fields, hidden state carried to the next step, a submit label. */
export interface FlowForm {
  id: string;
  action: string;
  heading?: MessageKey;
  fields: FlowField[];
  hidden?: Record<string, string>;
  /** Sending a code or a link needs a captcha (site setting). */
  captcha?: CaptchaChallenge;
  submit: MessageKey;
}

export interface FlowView {
  intro?: string;
  notice?: string;
  error?: string;
  forms: FlowForm[];
  links?: { href: string; label: MessageKey }[];
}

/** Registration, activation and password reset pages: the same layout, one or more small forms each. */
export function flowPage(ctx: PageContext, title: MessageKey, view: FlowView): string {
  const t = translator(ctx.language);
  return layout(
    ctx,
    title,
    html`${messages(view)} ${view.intro ? html`<p>${view.intro}</p>` : ''}
    ${view.forms.map(
      (form) =>
        html`<form method="post" action="${form.action}" id="${form.id}">
          ${form.heading ? html`<h2>${t(form.heading)}</h2>` : ''} ${csrfField(ctx)}
          ${Object.entries(form.hidden ?? {}).map(
            ([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`,
          )}
          ${form.fields.map(
            (f) =>
              html`<label for="${form.id}-${f.name}">${t(f.label)}</label
                ><input
                  type="${f.type}"
                  id="${form.id}-${f.name}"
                  name="${f.name}"
                  value="${f.value ?? ''}"
                  autocomplete="${f.autocomplete ?? 'off'}"
                  required
                />${f.hint ? html`<small>${t(f.hint)}</small>` : ''}`,
          )}
          ${captchaFields(ctx, `${form.id}-captcha`, form.captcha)}
          <button type="submit">${t(form.submit)}</button>
        </form>`,
    )}
    ${(view.links ?? []).map((l) => html`<p><a href="${l.href}">${t(l.label)}</a></p>`)}`,
  );
}

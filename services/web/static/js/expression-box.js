// @ts-check
// The expression box: a plain <input> (so typing, IME, undo and screen readers behave natively) over a
// highlighted copy of its text. A parse error from the server (422 with `position`) is marked in place.

import { useRef } from "preact/hooks";
import { prevent, withValue } from "./dom.js";
import { tokenize } from "./expr.js";
import { html } from "./html.js";

/** @param {{text: string, errorAt: number | null}} props */
function Highlight({ text, errorAt }) {
  const tokens = tokenize(text);
  const parts = [];
  for (const t of tokens) {
    const end = t.start + t.text.length;
    if (errorAt !== null && errorAt >= t.start && errorAt < end) {
      // Split the token so exactly the character at the error position carries the mark.
      const k = errorAt - t.start;
      if (k > 0) parts.push(html`<span class=${`tok-${t.type}`}>${t.text.slice(0, k)}</span>`);
      parts.push(html`<mark class=${`tok-${t.type} tok-error`} data-start=${errorAt}>${t.text[k]}</mark>`);
      if (k + 1 < t.text.length) parts.push(html`<span class=${`tok-${t.type}`}>${t.text.slice(k + 1)}</span>`);
    } else {
      parts.push(html`<span class=${`tok-${t.type}`}>${t.text}</span>`);
    }
  }
  if (errorAt !== null && errorAt >= text.length) {
    // The error is at the end (e.g. a missing ')'): mark the empty place after the last character.
    parts.push(html`<mark class="tok-error tok-eol" data-start=${errorAt}>${"\u00a0"}</mark>`);
  }
  return parts;
}

/**
 * @param {{value: string, onInput: (v: string) => void, onSubmit: () => void,
 *   error: {message: string, position?: number, expression?: string} | null, busy?: boolean,
 *   id?: string, label?: string, placeholder?: string}} props
 */
export function ExpressionBox({ value, onInput, onSubmit, error, busy, id = "expr", label = "Expression",
  placeholder = '"a red circle" - "red" + "blue"' }) {
  const back = useRef(/** @type {HTMLDivElement | null} */ (null));
  // The error belongs to the text it was raised for; once the text changes the mark would lie.
  const at = error?.position;
  const pos = at !== undefined && Number.isInteger(at) && (error?.expression ?? value) === value ? at : null;
  /** @param {Event} e */
  const sync = (e) => {
    if (back.current) back.current.scrollLeft = /** @type {HTMLInputElement} */ (e.currentTarget).scrollLeft;
  };
  const errId = `${id}-error`;
  return html`<form class="expr-form" role="search" onSubmit=${prevent(onSubmit)}>
    <label for=${id} class="visually-hidden">${label}</label>
    <div class=${`exprbox${error ? " has-error" : ""}`}>
      <div class="expr-backdrop" ref=${back} aria-hidden="true"><${Highlight} text=${value} errorAt=${pos} /></div>
      <input id=${id} class="expr-input" type="text" value=${value} spellcheck="false" autocomplete="off"
        autocapitalize="off" placeholder=${placeholder} aria-invalid=${error ? "true" : "false"}
        aria-describedby=${error ? errId : undefined}
        onInput=${(/** @type {Event} */ e) => {
          withValue(onInput)(e);
          sync(e);
        }} onScroll=${sync} onKeyUp=${sync} onClick=${sync} />
    </div>
    <button type="submit" disabled=${busy}>${busy ? "Searching…" : "Search"}</button>
    ${error && html`<div id=${errId} class="expr-error" role="alert" data-position=${pos ?? ""}>
      <span class="expr-error-message">${error.message}</span>
      ${pos !== null && html`<span class="expr-error-where">at character ${pos + 1}</span>
        <pre class="expr-caret" aria-hidden="true">${`${value}\n${" ".repeat(pos)}^`}</pre>`}
    </div>`}
  </form>`;
}

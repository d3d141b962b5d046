// @ts-check
// Typed event handlers for templates: htm's interpolated values are untyped, so a handler's event is
// named once here instead of at every `onInput=${...}`.

/** onInput/onChange that hands the control's value to `fn`.
 * @param {(value: string) => void} fn @returns {(e: Event) => void} */
export const withValue = (fn) => (e) => fn(/** @type {HTMLInputElement} */ (e.currentTarget).value);

/** onSubmit (or onClick) that stops the browser's own action first.
 * @param {(e: Event) => void} fn @returns {(e: Event) => void} */
export const prevent = (fn) => (e) => {
  e.preventDefault();
  fn(e);
};

/** onChange of a file input: the picked files, with the input cleared so the same file can be picked again.
 * @param {(files: File[]) => void} fn @returns {(e: Event) => void} */
export const withFiles = (fn) => (e) => {
  const input = /** @type {HTMLInputElement} */ (e.currentTarget);
  const files = [...(input.files || [])];
  input.value = "";
  fn(files);
};

/** Hands files (dropped or picked) to whichever view takes them (see main.js). @param {File[]} files */
export const offerFiles = (files) => window.dispatchEvent(new CustomEvent("signifier:files", { detail: files }));

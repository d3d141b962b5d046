// @ts-check
// The expression language on the client side: a tokenizer for syntax highlighting only (the server
// parses; see docs/expressions.md), and the inverse of the server's term list: weighted terms → text.

const FUNCTIONS = new Set(["image", "text", "upload", "axis"]);

/** @typedef {import("./api.js").Term} Term */
/** @typedef {{type: string, text: string, start: number}} Token */

/**
 * Split source text into highlight tokens covering every character, in order.
 * @param {string} src
 * @returns {Token[]} types: string, number, function, ident, concept, operator, paren, space, unknown.
 *   An unterminated string runs to the end.
 */
export function tokenize(src) {
  /** @type {Token[]} */
  const out = [];
  let i = 0;
  /** @param {string} type @param {number} end */
  const push = (type, end) => {
    out.push({ type, text: src.slice(i, end), start: i });
    i = end;
  };
  while (i < src.length) {
    const c = src[i];
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
      push("string", Math.min(j + 1, src.length));
    } else if (/\s/.test(c)) {
      push("space", i + /** @type {RegExpMatchArray} */ (src.slice(i).match(/^\s+/))[0].length);
    } else if (/[0-9.]/.test(c)) {
      const m = src.slice(i).match(/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/);
      push(m ? "number" : "unknown", i + (m ? m[0].length : 1));
    } else if (c === "@") {
      const m = src.slice(i + 1).match(/^[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*/);
      push("concept", i + 1 + (m ? m[0].length : 0));
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /** @type {RegExpMatchArray} */ (src.slice(i).match(/^[A-Za-z0-9_-]+/)); // c is a letter
      // Inside image(...) a bare id (digits, UUID) reads as a word; only known names are functions.
      push(FUNCTIONS.has(m[0].toLowerCase()) ? "function" : "ident", i + m[0].length);
    } else if ("+-*/|,".includes(c)) {
      push("operator", i + 1);
    } else if ("()".includes(c)) {
      push("paren", i + 1);
    } else {
      push("unknown", i + 1);
    }
  }
  return out;
}

/** |w| as the expression writes it: JavaScript's shortest round-trip form, like the server's (`0.35`, `1e-7`).
 * @param {number} w */
export function formatWeight(w) {
  return String(Math.abs(w));
}

/**
 * Weighted terms → expression text, e.g. [{text:'"a"', weight:1}, {text:'"b"', weight:-0.5}] →
 * `"a" - 0.5*"b"`. Each term's ``text`` is the server's canonical term text (``"red"``, ``image(12)``).
 * @param {Term[]} terms @returns {string}
 */
export function buildExpression(terms) {
  return terms
    .map((t, i) => {
      const w = Number(t.weight);
      const sign = w < 0 || Object.is(w, -0) ? "-" : "+";
      const mag = Math.abs(w) === 1 ? "" : `${formatWeight(w)}*`;
      // '|' binds tighter than '*', so the parentheses only help the reader.
      const body = mag && t.kind === "ensemble" ? `${mag}(${t.text})` : `${mag}${t.text}`;
      if (i === 0) return sign === "-" ? `-${body}` : body;
      return ` ${sign} ${body}`;
    })
    .join("");
}

/** The label a chip shows for a term (its text without quotes where that reads better). @param {Term} term */
export function termLabel(term) {
  if (term.kind === "text") return term.text.replace(/^"|"$/g, "").replace(/\\(.)/g, "$1");
  return term.text;
}

/** The point id inside ``image(...)`` / ``text(...)``, or null. @param {Term} term @returns {string | null} */
export function pointIdOf(term) {
  const m = term.text.match(/^(?:image|text)\((?:"((?:[^"\\]|\\.)*)"|([^)]*))\)$/);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2];
}

/** The upload index inside ``upload(n)``, or null. @param {Term} term */
export function uploadIndexOf(term) {
  const m = term.text.match(/^upload\((\d+)\)$/);
  return m ? Number(m[1]) : null;
}

/** A point id as an expression argument: bare when it is digits or a UUID, quoted otherwise.
 * @param {string | number} id */
export function pointArg(id) {
  const s = String(id);
  if (/^\d+$/.test(s) || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) return s;
  return `"${s.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Placeholders in a template's titles and bodies: `{{name}}` (spaces inside the braces are
 * allowed: `{{ name }}`) is the value of input `name`; `{{{{` is a literal `{{`. Any other `{{`
 * is an error, so that a typo never reaches a task as text. `}}` alone is plain text.
 */

/** The names an input may have: a letter, then letters, digits, "_" and "-". */
export const INPUT_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

const PLACEHOLDER = /^\{\{\s*([A-Za-z][A-Za-z0-9_-]*)\s*\}\}/;

/** A piece of a text: literal text, or the input a placeholder names. */
export type Piece = { text: string } | { input: string };

/**
 * pieces splits `text` into literal text and placeholders; a `{{` that starts no placeholder
 * throws an Error whose message says how to write one (the caller adds where it was).
 */
export function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  let literal = "";
  let i = 0;
  for (;;) {
    const at = text.indexOf("{{", i);
    if (at < 0) break;
    literal += text.slice(i, at);
    if (text.startsWith("{{{{", at)) {
      literal += "{{";
      i = at + 4;
      continue;
    }
    const m = PLACEHOLDER.exec(text.slice(at, at + 200));
    if (!m) {
      const shown = text.slice(at, at + 24).split("\n")[0]!;
      throw new Error(
        `${JSON.stringify(shown)} starts no placeholder: write {{input_name}} ` +
          `(a letter, then letters, digits, "_" or "-"), or {{{{ for a literal "{{"`,
      );
    }
    if (literal !== "") out.push({ text: literal });
    literal = "";
    out.push({ input: m[1]! });
    i = at + m[0].length;
  }
  literal += text.slice(i);
  if (literal !== "") out.push({ text: literal });
  return out;
}

/** inputsUsed lists the inputs `text`'s placeholders name, each once, in order. */
export function inputsUsed(text: string): string[] {
  const names = pieces(text).flatMap((p) => ("input" in p ? [p.input] : []));
  return [...new Set(names)];
}

/**
 * fill replaces each placeholder of `text` with its input's value; a placeholder whose input has
 * no value (`values` lacks it) stays as written, `{{name}}` (a preview of a template run
 * without every input).
 */
export function fill(text: string, values: ReadonlyMap<string, string>): string {
  return pieces(text).map((p) => {
    if ("text" in p) return p.text;
    return values.get(p.input) ?? `{{${p.input}}}`;
  }).join("");
}

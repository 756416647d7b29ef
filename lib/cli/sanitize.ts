/**
 * What kanban lets through to a terminal. Board text (titles, bodies, comments, summaries,
 * metadata, errors, names) is written by agents and by anyone who can reach the board, and a
 * worker log is whatever an agent CLI printed; none of it may act on the terminal that shows it:
 * no escape sequence (clear the screen, retitle the window, write the clipboard with OSC 52),
 * no cursor move, no reordering of a line. `--json` output never comes here: JSON escapes its
 * own control characters, and it carries the text exactly.
 */

/**
 * Characters a terminal may act on: the C0 controls but tab and line feed, DEL, the C1 controls
 * (U+0080–U+009F: a terminal may take U+009B as CSI and U+009D as OSC), and the bidirectional
 * embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make a line display
 * in another order than its text ("Trojan Source": a title that shows one command and holds
 * another). The implicit marks (LRM, RLM, ALM) stay: they only nudge neutral characters, and
 * real right-to-left text uses them. A CR LF pair is matched whole: it is a line end.
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE = /\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * standIn is the visible character printed for an unsafe one: one character for one, so a
 * table laid out before its text was made safe keeps its columns. C0 controls become their
 * Unicode Control Picture (ESC ␛, BEL ␇, CR ␍), which tells the reader what was there; DEL
 * becomes ␡; C1 controls and bidi controls, which have no picture, become U+FFFD (�).
 */
function standIn(c: string): string {
  if (c === "\r\n") return "\n";
  const code = c.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return "\u2421";
  return "\ufffd";
}

/**
 * terminalText is `text` safe to print on a terminal: line feeds and tabs stay (a body is
 * printed on several lines on purpose), a CR LF line end becomes LF, and every other control
 * character (see UNSAFE) becomes a visible stand-in (`\x1b[2J` prints as `␛[2J`). Nothing of
 * the text is dropped, and it stays one character per character but for CR LF.
 */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, standIn);
}

// deno-lint-ignore no-control-regex -- matching control characters is the point
const ERROR_UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * escapedLine is `text` on one line with every control character (see UNSAFE; line breaks too,
 * tabs excepted) written as its JSON escape: `\n`, `\u001b`, `\u009b`, `\u202e`. Error messages
 * quote what the user gave; this shows exactly what that was, in a form that can be typed again.
 */
export function escapedLine(text: string): string {
  return text.replace(ERROR_UNSAFE, (c) => {
    const json = JSON.stringify(c).slice(1, -1);
    // JSON leaves DEL, C1 and the bidi controls as they are
    return json.length > 1 ? json : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

// deno-lint-ignore no-control-regex -- matching control characters is the point
const LOG_SPECIAL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
const ESC = "\x1b";
/** After ESC: OSC, DCS, SOS, PM, APC, each a string that runs until its terminator. */
const STRING_7BIT = "]PX^_";
/** The same strings introduced by one C1 character. */
const STRING_C1 = "\x9d\x90\x98\x9e\x9f";
/** A sequence cut at the end of a piece waits for the next one; longer than this, it is junk. */
const MAX_PENDING = 4096;
/** SGR: CSI, parameters of digits, `;` and `:` only, no intermediates, final `m`. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const SGR = /^\x1b\[[0-9;:]*m$/;

type Scan =
  | { kind: "done"; end: number }
  | { kind: "cut" } // the piece ended inside a short sequence: wait for the rest
  // the piece ended inside a string: skip to its end in the next (which may start with the
  // ESC \ of its terminator when this piece ended with the ESC)
  | { kind: "string"; escAtEnd: boolean };

const inRange = (s: string, i: number, lo: number, hi: number) => {
  const c = s.charCodeAt(i);
  return c >= lo && c <= hi;
};

/**
 * stringEnd is where a string sequence whose body starts at `from` ends (after its
 * terminator): BEL, ST (ESC \ or U+009C), or CAN or SUB, which cancel it. Any other ESC ends it
 * too (a terminal aborts the string and starts a new sequence there). -1: not in `s`; -2: `s`
 * ends with an ESC that may be the start of ST.
 */
function stringEnd(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === "\x07" || c === "\x9c" || c === "\x18" || c === "\x1a") return i + 1;
    if (c === ESC) {
      if (i + 1 === s.length) return -2;
      return s[i + 1] === "\\" ? i + 2 : i;
    }
  }
  return -1;
}

/** csiEnd scans a control sequence's parameters, intermediates and final byte from `i`. */
function csiEnd(s: string, i: number): Scan {
  while (i < s.length && inRange(s, i, 0x30, 0x3f)) i++;
  while (i < s.length && inRange(s, i, 0x20, 0x2f)) i++;
  if (i === s.length) return { kind: "cut" };
  // a character that cannot end it aborts it; that character is read as itself
  return { kind: "done", end: inRange(s, i, 0x40, 0x7e) ? i + 1 : i };
}

/** scan reads the escape sequence that starts at `s[i]` (ESC or a C1 introducer). */
function scan(s: string, i: number): Scan {
  const c = s[i]!;
  if (c === "\x9b") return csiEnd(s, i + 1);
  if (STRING_C1.includes(c)) return stringScan(s, i + 1);
  if (i + 1 === s.length) return { kind: "cut" };
  const next = s[i + 1]!;
  if (next === "[") return csiEnd(s, i + 2);
  if (STRING_7BIT.includes(next)) return stringScan(s, i + 2);
  if (inRange(s, i + 1, 0x20, 0x2f)) {
    let j = i + 1;
    while (j < s.length && inRange(s, j, 0x20, 0x2f)) j++;
    if (j === s.length) return { kind: "cut" };
    return { kind: "done", end: inRange(s, j, 0x30, 0x7e) ? j + 1 : j };
  }
  if (inRange(s, i + 1, 0x30, 0x7e)) return { kind: "done", end: i + 2 }; // ESC c, ESC 7, ...
  return { kind: "done", end: i + 1 }; // a lone ESC: dropped, what follows is read as itself
}

function stringScan(s: string, from: number): Scan {
  const end = stringEnd(s, from);
  return end >= 0 ? { kind: "done", end } : { kind: "string", escAtEnd: end === -2 };
}

/**
 * LogFilter makes worker log text safe for a terminal. With `colour` (stdout is a terminal) it
 * keeps SGR colour sequences (`ESC [ 1;31 m`); it removes every other escape sequence whole
 * (OSC, DCS and the other strings, cursor moves, screen and line clears, mode changes, 8-bit
 * CSI), and SGR too without `colour`; any other control character prints as its stand-in, as in
 * terminalText. Text comes in pieces (`tail` reads a log as it grows): a sequence cut at the end
 * of a piece is completed by the next, and `flush()` drops one that never ended.
 */
export class LogFilter {
  /** The start of a sequence (or a CR) cut at the end of the last piece. */
  #pending = "";
  /** Inside a string sequence (OSC, ...) whose start was already dropped. */
  #inString = false;

  constructor(readonly colour: boolean) {}

  push(text: string): string {
    const s = this.#pending + text;
    this.#pending = "";
    let i = 0;
    if (this.#inString) {
      const end = stringEnd(s, 0);
      if (end < 0) {
        if (end === -2) this.#pending = ESC;
        return "";
      }
      this.#inString = false;
      i = end;
    }
    let out = "";
    LOG_SPECIAL.lastIndex = i;
    for (let m = LOG_SPECIAL.exec(s); m !== null; m = LOG_SPECIAL.exec(s)) {
      const at = m.index;
      out += s.slice(i, at);
      const c = s[at]!;
      if (c !== ESC && c !== "\x9b" && !STRING_C1.includes(c)) {
        if (c === "\r" && at + 1 === s.length) {
          this.#pending = "\r"; // perhaps a CR LF cut in two
          return out;
        }
        const crlf = c === "\r" && s[at + 1] === "\n";
        out += crlf ? "\n" : standIn(c);
        i = at + (crlf ? 2 : 1);
      } else {
        const r = scan(s, at);
        if (r.kind === "cut") {
          if (s.length - at <= MAX_PENDING) this.#pending = s.slice(at);
          return out;
        }
        if (r.kind === "string") {
          this.#inString = true;
          if (r.escAtEnd) this.#pending = ESC;
          return out;
        }
        const seq = s.slice(at, r.end);
        if (this.colour && SGR.test(seq)) out += seq;
        i = r.end;
      }
      LOG_SPECIAL.lastIndex = i;
    }
    return out + s.slice(i);
  }

  /** flush ends the text: a sequence cut short is dropped, a last lone CR shows as ␍. */
  flush(): string {
    const rest = this.#pending;
    this.#pending = "";
    this.#inString = false;
    return rest === "\r" ? standIn(rest) : "";
  }
}

/**
 * Reading one file's unified diff (the `patch` of a DiffFile) line by line, with the line
 * numbers each line has in the old and the new version of the file. Pure: the server quotes
 * the lines a review comment is about with it, and the dashboard draws the diff with it.
 */

/** A line of a patch: git's header lines, a hunk header, or a line of the file. */
export interface PatchLine {
  /**
   * meta: git's `diff --git`, `index`, `---`, `+++`, rename, mode and "Binary files" lines;
   * hunk: `@@ -a,b +c,d @@`; add/del/ctx: a line added, deleted, or kept as context; note:
   * `\ No newline at end of file`.
   */
  kind: "meta" | "hunk" | "add" | "del" | "ctx" | "note";
  /** Its number in the old file (del, ctx), else null. */
  old: number | null;
  /** Its number in the new file (add, ctx), else null. */
  new: number | null;
  /** The text without its `+`/`-`/space marker (meta and hunk lines: the whole line). */
  text: string;
  /** Which hunk it is in (0 for the lines before the first), so quotes stay inside one. */
  hunk: number;
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** parsePatch splits one file's unified diff into its lines, numbering the file's lines. */
export function parsePatch(patch: string): PatchLine[] {
  const out: PatchLine[] = [];
  let oldNo = 0;
  let newNo = 0;
  let hunk = 0;
  const lines = patch.split("\n");
  if (lines.at(-1) === "") lines.pop(); // the patch ends with a line feed
  for (const line of lines) {
    const m = HUNK.exec(line);
    if (m) {
      hunk++;
      oldNo = Number(m[1]);
      newNo = Number(m[2]);
      out.push({ kind: "hunk", old: null, new: null, text: line, hunk });
    } else if (hunk === 0) {
      out.push({ kind: "meta", old: null, new: null, text: line, hunk });
    } else if (line.startsWith("+")) {
      out.push({ kind: "add", old: null, new: newNo++, text: line.slice(1), hunk });
    } else if (line.startsWith("-")) {
      out.push({ kind: "del", old: oldNo++, new: null, text: line.slice(1), hunk });
    } else if (line.startsWith("\\")) {
      out.push({ kind: "note", old: null, new: null, text: line, hunk }); // \ No newline at end
    } else {
      out.push({ kind: "ctx", old: oldNo++, new: newNo++, text: line.slice(1), hunk });
    }
  }
  return out;
}

/** MARK is the marker a patch line starts with, by kind. */
export const MARK: Record<PatchLine["kind"], string> = {
  meta: "",
  hunk: "",
  add: "+",
  del: "-",
  ctx: " ",
  note: "",
};

/**
 * findLine is the index of the line numbered `line` in the new file (`side` new: an added or
 * context line) or in the old one (`side` old: a deleted or context line); -1 when the patch
 * does not show it.
 */
export function findLine(lines: PatchLine[], line: number, side: "old" | "new"): number {
  return lines.findIndex((l) =>
    side === "new" ? l.new === line && l.kind !== "del" : l.old === line && l.kind !== "add"
  );
}

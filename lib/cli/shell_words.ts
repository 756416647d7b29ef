/**
 * shellWords splits a command line written as a shell would read it into an argv, without a
 * shell: words break at unquoted blanks; '...' keeps everything inside as it is; "..." keeps
 * everything but `\"` and `\\`; a backslash outside quotes keeps the next character. Nothing is
 * expanded. An unquoted shell operator (`|`, `&`, `;`, `<`, `>`, `(`, `)`, `$`, a backtick) is
 * refused: no shell runs the words, so it would not do what it says (write `sh -c '...'`).
 * Throws an Error whose message says what is wrong.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let i = 0;
  const push = (c: string) => {
    word = (word ?? "") + c;
  };
  while (i < line.length) {
    const c = line[i]!;
    if (c === " " || c === "\t" || c === "\n") {
      if (word !== null) words.push(word);
      word = null;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error("unterminated ' quote");
      push(line.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let text = "";
      for (;;) {
        if (j >= line.length) throw new Error('unterminated " quote');
        const d = line[j]!;
        if (d === '"') break;
        if (d === "\\" && (line[j + 1] === '"' || line[j + 1] === "\\")) {
          text += line[j + 1];
          j += 2;
        } else {
          text += d;
          j++;
        }
      }
      push(text);
      i = j + 1;
    } else if (c === "\\") {
      if (i + 1 >= line.length) throw new Error("a backslash ends the line");
      push(line[i + 1]!);
      i += 2;
    } else if ("|&;<>()$`".includes(c)) {
      throw new Error(
        `unquoted "${c}": no shell runs these words; for pipes, && or variables write ` +
          `sh -c '...'`,
      );
    } else {
      push(c);
      i++;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

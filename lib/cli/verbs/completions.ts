/** `kanban completions bash|zsh|fish`: shell completion generated from the command tree. */
import type { Command } from "@commander-js/extra-typings";
import { type CliContext, UsageError } from "../context.ts";

interface VerbSpec {
  name: string;
  description: string;
  flags: string[];
  takesIds: boolean;
}

function spec(program: Command): { globals: string[]; verbs: VerbSpec[] } {
  const longFlags = (cmd: { options: readonly { long?: string | undefined }[] }) =>
    cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined);
  return {
    globals: [...longFlags(program), "--help"],
    verbs: program.commands.filter((c) => c.name() !== "help").map((c) => ({
      name: c.name(),
      description: c.description(),
      flags: [...longFlags(c), "--help"],
      takesIds: c.registeredArguments.some((a) => /id|parent|child/.test(a.name())),
    })),
  };
}

function bash(program: Command): string {
  const s = spec(program);
  const cases = s.verbs.map((v) =>
    `    ${v.name}) opts="${v.flags.join(" ")}"; ids=${v.takesIds ? 1 : 0} ;;`
  );
  return `# kanban bash completion: eval "$(kanban completions bash)"
_kanban() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" verb="" opts="" ids=0 i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) verb="\${COMP_WORDS[i]}"; break ;; esac
  done
  if [ -z "$verb" ]; then
    COMPREPLY=($(compgen -W "${s.verbs.map((v) => v.name).join(" ")} ${
    s.globals.join(" ")
  }" -- "$cur"))
    return
  fi
  case "$verb" in
${cases.join("\n")}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts ${s.globals.join(" ")}" -- "$cur"))
  elif [ "$ids" = 1 ]; then
    COMPREPLY=($(compgen -W "$(kanban list 2>/dev/null | awk 'NR > 1 { print $1 }')" -- "$cur"))
  fi
}
complete -F _kanban kanban
`;
}

function fish(program: Command): string {
  const s = spec(program);
  const q = (t: string) => `'${t.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  const lines = [
    "# kanban fish completion: kanban completions fish | source",
    "complete -c kanban -f",
    ...s.globals.map((f) => `complete -c kanban -l ${f.slice(2)}`),
    ...s.verbs.map((v) =>
      `complete -c kanban -n __fish_use_subcommand -a ${v.name} -d ${q(v.description)}`
    ),
    ...s.verbs.flatMap((v) =>
      v.flags.map((f) =>
        `complete -c kanban -n '__fish_seen_subcommand_from ${v.name}' -l ${f.slice(2)}`
      )
    ),
    ...s.verbs.filter((v) => v.takesIds).map((v) =>
      `complete -c kanban -n '__fish_seen_subcommand_from ${v.name}' -a '(kanban list 2>/dev/null | awk "NR > 1 { print \\$1 }")'`
    ),
  ];
  return `${lines.join("\n")}\n`;
}

export function register(program: Command, ctx: CliContext): void {
  program.command("completions")
    .description("print a shell completion script: bash, zsh or fish")
    .argument("<shell>", "bash | zsh | fish")
    .action((shell) => {
      if (shell === "bash") ctx.stdout(bash(program));
      else if (shell === "zsh") {
        ctx.stdout(
          `# kanban zsh completion: eval "$(kanban completions zsh)"\nautoload -U +X bashcompinit && bashcompinit\n${
            bash(program)
          }`,
        );
      } else if (shell === "fish") ctx.stdout(fish(program));
      else throw new UsageError(`Unknown shell "${shell}" (bash, zsh or fish)`);
    });
}

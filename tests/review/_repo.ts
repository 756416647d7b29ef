/**
 * Real git repositories for the review tests: a repository with a first commit, a worktree
 * task's worktree made by the real prepareWorkspace(), and the set of changes a worker leaves
 * behind (a commit, an uncommitted edit, an untracked file, a deleted, a renamed, a binary and
 * an ignored file). git runs without the user's or the system's configuration.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

/** The environment of the tests' own git calls: no user or system config, fixed author. */
export const GIT_ENV: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => v !== undefined && !k.startsWith("GIT_")),
  ) as Record<string, string>,
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "tester",
  GIT_AUTHOR_EMAIL: "tester@example.com",
  GIT_COMMITTER_NAME: "tester",
  GIT_COMMITTER_EMAIL: "tester@example.com",
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8" });
}

/** LINES is moved.txt's text: long enough for git to see its move as a rename. */
export const LINES = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";

/**
 * makeRepo makes a repository at `<dir>/repo` on branch main with one commit: app.ts (5
 * lines), gone.txt, moved.txt, .gitignore (ignores *.log). Returns its path.
 */
export function makeRepo(dir: string): string {
  const repo = join(dir, "repo");
  mkdirSync(repo, { recursive: true });
  git(repo, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(repo, "app.ts"), "one\ntwo\nthree\nfour\nfive\n");
  writeFileSync(join(repo, "gone.txt"), "bye\n");
  writeFileSync(join(repo, "moved.txt"), LINES);
  writeFileSync(join(repo, ".gitignore"), "*.log\n");
  git(repo, "add", "-A");
  git(repo, "commit", "--quiet", "-m", "init");
  return repo;
}

/**
 * work leaves a worker's changes in worktree `wt`: a commit that edits app.ts (two becomes 2,
 * six is added), then, uncommitted: three becomes THREE, gone.txt deleted, moved.txt renamed
 * to renamed.txt, new.txt and a binary image.bin untracked, debug.log ignored.
 */
export function work(wt: string): void {
  writeFileSync(join(wt, "app.ts"), "one\n2\nthree\nfour\nfive\nsix\n");
  git(wt, "commit", "--quiet", "-am", "edit app");
  writeFileSync(join(wt, "app.ts"), "one\n2\nTHREE\nfour\nfive\nsix\n");
  rmSync(join(wt, "gone.txt"));
  renameSync(join(wt, "moved.txt"), join(wt, "renamed.txt"));
  writeFileSync(join(wt, "new.txt"), "hello\nworld\n");
  writeFileSync(join(wt, "image.bin"), new Uint8Array([0, 1, 2, 3, 0, 255]));
  writeFileSync(join(wt, "debug.log"), "noise\n");
}

/** worktreeConfig is a config.toml that makes worktrees from `repo`. */
export function worktreeConfig(repo: string): string {
  return `[dispatch]\nrepository = ${JSON.stringify(repo)}\n`;
}

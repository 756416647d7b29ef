/**
 * The worker socket in process: a dispatcher's store served on a unix socket, a worker's
 * RemoteStore calling it. The answers are the store's own (results equal, errors of the same
 * class, code and message as a confined connection of the worker's own would give), and only
 * an open run's token and WORKER_METHODS are served. The compiled binary's side is
 * tests/e2e/worker_socket_test.ts.
 */
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  KanbanError,
  openStore,
  StaleLeaseError,
  type Store,
  ValidationError,
} from "../../lib/store/mod.ts";
import { remoteAsStore, remoteStore } from "../../lib/store/remote.ts";
import { encodeCall } from "../../lib/store/worker_calls.ts";
import {
  boardSecrets,
  socketPathFor,
  workerAccess,
  WorkerSocket,
} from "../../lib/dispatch/worker_socket.ts";
import { setup } from "../_setup.ts";
import { add, claimId, worker } from "../store/_helpers.ts";

/** served: a board, a claimed task "mine", another task, and the socket serving the board. */
async function served() {
  const b = setup();
  const mine = await add(b.store, "mine", { assignee: "coder" });
  const other = await add(b.store, "other", { assignee: "coder" });
  const claim = await claimId(b.store, mine.id);
  const socket = new WorkerSocket({ store: b.store, path: join(b.dir, "sock", "w.sock") });
  await socket.listen();
  const remote = remoteStore({ socket: socket.path, token: claim.token, task: mine.id });
  /** direct is the worker's own confined connection, as without the socket. */
  const direct = (): Store => openStore(b.path, { confine: { task: mine.id, token: claim.token } });
  return {
    ...b,
    mine,
    other,
    claim,
    socket,
    remote,
    direct,
    actor: worker(claim),
    [Symbol.asyncDispose]: async () => {
      await socket.close();
      await b[Symbol.asyncDispose]();
    },
  };
}

/** failure is what a call threw. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("the call did not fail");
}

Deno.test("the worker socket answers a worker's reads and writes as the store does", async () => {
  await using s = await served();
  assert.deepEqual(await s.remote.showTask(s.mine.id), await s.store.showTask(s.mine.id));
  assert.equal(await s.remote.resolveId(s.mine.id.slice(0, 6)), s.mine.id);
  const run = await s.remote.heartbeat(s.mine.id, s.actor, "halfway");
  assert.equal(run.id, s.claim.run.id);
  const c = await s.remote.comment(s.mine.id, "found it", s.actor);
  assert.equal(c.body, "found it");
  const follow = await s.remote.createTask(
    { title: "follow-up", assignee: "reviewer", parents: [s.mine.id] },
    s.actor,
  );
  assert.equal(follow.created, true);
  const done = await s.remote.complete(
    s.mine.id,
    { summary: "done", metadata: { files: 2 }, usage: { input_tokens: 10, output_tokens: 5 } },
    s.actor,
  );
  assert.equal(done.status, "done");
  assert.deepEqual(done, await s.store.getTask(s.mine.id));
  assert.equal((await s.store.getTask(follow.task.id)).status, "ready");
  // its run has ended: the socket serves that token nothing more, reads included
  const after = await failure(s.remote.getTask(s.mine.id));
  assert.ok(after instanceof StaleLeaseError);
});

Deno.test("the worker socket creates a task graph as the store does, once per key", async () => {
  await using s = await served();
  const graph = (title: string) => ({
    key: "plan-1",
    nodes: [
      { ref: "a", task: { title } },
      { ref: "b", task: { title: "b" }, after: ["a"] },
    ],
  });
  const made = await s.remote.createGraph(graph("a"), s.actor);
  assert.equal(made.created, true);
  assert.deepEqual(made.tasks.map((t) => t.task.status), ["ready", "todo"]);
  const again = await s.remote.createGraph(graph("a"), s.actor);
  assert.deepEqual(again, { ...made, created: false });
  const other = await failure(s.remote.createGraph(graph("another a"), s.actor));
  assert.ok(other instanceof KanbanError);
  assert.equal(other.code, "key_conflict");
  const runs = (await s.store.showTask(s.mine.id)).runs;
  assert.deepEqual(runs[0]!.created_tasks.map((t) => t.id), made.tasks.map((t) => t.task.id));
});

Deno.test("the worker socket refuses a write to another task with the error of a direct worker", async () => {
  await using s = await served();
  using direct = s.direct();
  for (
    const call of [
      (st: Pick<Store, "comment" | "cancel">) => st.comment(s.other.id, "hijack", s.actor),
      (st: Pick<Store, "comment" | "cancel">) => st.cancel(s.other.id, undefined, { name: "x" }),
    ]
  ) {
    const want = await failure(call(direct));
    const got = await failure(call(s.remote));
    assert.ok(got instanceof KanbanError);
    assert.equal(got.constructor, want.constructor);
    assert.equal((got as KanbanError).code, (want as KanbanError).code);
    assert.equal(got.message, want.message);
  }
  assert.equal((await s.store.getTask(s.other.id)).status, "ready");
});

Deno.test("the worker socket rebuilds errors as their class, with their fields", async () => {
  await using s = await served();
  const bad = await failure(s.remote.createTask({ title: "" }, s.actor));
  assert.ok(bad instanceof ValidationError);
  assert.equal(bad.code, "invalid_input");
  const gone = await failure(s.remote.getTask("t_ffffffff"));
  assert.equal((gone as KanbanError).code, "not_found");
  assert.equal(gone.name, "NotFoundError");
  // a default parameter sees undefined, not null: the run list's default limit applies
  assert.equal((await s.remote.listRuns(undefined)).length, 1);
});

Deno.test("the worker socket serves only an open run's token", async () => {
  await using s = await served();
  const stranger = remoteStore({ socket: s.socket.path, token: "not-a-token", task: null });
  const unknown = await failure(stranger.showTask(s.mine.id));
  assert.ok(unknown instanceof StaleLeaseError, String(unknown));
  await s.store.complete(s.mine.id, { summary: "by a person" }, { name: "alice" });
  const stale = await failure(s.remote.heartbeat(s.mine.id, s.actor));
  assert.ok(stale instanceof StaleLeaseError);
  assert.match(stale.message, /has ended \(completed_by_human\)/);
  const none = await s.socket.answer(null, encodeCall("showTask", [s.mine.id]));
  assert.equal(JSON.parse(none.body).error.code, "worker_forbidden");
});

Deno.test("the worker socket refuses a method outside its allowlist, and another token in an actor", async () => {
  await using s = await served();
  for (const method of ["backup", "exportBoard", "listSubscriptions", "recordExit", "close"]) {
    const a = await s.socket.answer(s.claim.token, encodeCall(method, ["/tmp/x"]));
    const err = JSON.parse(a.body).error;
    assert.equal(err.code, "worker_forbidden", method);
    assert.match(err.message, new RegExp(`Cannot call ${method} `));
  }
  const asStore = remoteAsStore(s.remote);
  const refused = await failure(asStore.backup(join(s.dir, "copy.db")));
  assert.equal((refused as KanbanError).code, "worker_forbidden");
  assert.equal(existsSync(join(s.dir, "copy.db")), false);
  const other = await claimId(s.store, s.other.id);
  const a = await s.socket.answer(
    s.claim.token,
    encodeCall("comment", [s.other.id, "as the other run", worker(other)]),
  );
  assert.equal(JSON.parse(a.body).error.code, "worker_forbidden");
  const garbage = await s.socket.answer(s.claim.token, "{not json");
  assert.equal(JSON.parse(garbage.body).error.code, "invalid_input");
});

Deno.test("the worker socket is private (0600 in a 0700 folder) and gone once closed", async () => {
  await using s = await served();
  assert.equal(statSync(s.socket.path).mode & 0o777, 0o600);
  assert.equal(statSync(dirname(s.socket.path)).mode & 0o777, 0o700);
  await s.socket.listen(); // twice: no-op
  await s.socket.close();
  assert.equal(existsSync(s.socket.path), false);
  const err = await failure(s.remote.showTask(s.mine.id));
  assert.equal((err as KanbanError).code, "dispatcher_unavailable");
  await s.socket.close(); // twice: no-op
});

Deno.test("socketPathFor() stays within a unix socket's length, in a private folder", () => {
  const short = socketPathFor("/var/lib/kanban/logs/default", "build-1");
  assert.match(short, /^\/var\/lib\/kanban\/logs\/default\/sockets\/[0-9a-f]{12}\.sock$/);
  assert.equal(socketPathFor("/var/lib/kanban/logs/default", "build-1"), short, "stable");
  assert.notEqual(socketPathFor("/var/lib/kanban/logs/default", "build-2"), short);
  const long = socketPathFor(`/srv/${"x".repeat(120)}/logs/b`, "h");
  assert.ok(new TextEncoder().encode(long).length <= 107, long);
  assert.match(long, /kanban-\d+-[0-9a-f]{16}\/worker\.sock$/);
});

Deno.test("workerAccess() is socket for a server database and refuses direct there", () => {
  assert.equal(workerAccess("/b/board.db", undefined), "direct");
  assert.equal(workerAccess("/b/board.db", "socket"), "socket");
  assert.equal(workerAccess("postgres://k:pw@h/db", undefined), "socket");
  assert.throws(() => workerAccess("postgres://k:pw@h/db", "direct"), { name: "ConfigError" });
  assert.deepEqual(boardSecrets("/b/board.db"), []);
  assert.deepEqual(
    boardSecrets("postgres://kanban:s3cr%40t@127.0.0.1:5432/db").sort(),
    ["postgres://kanban:s3cr%40t@127.0.0.1:5432/db", "s3cr%40t", "s3cr@t"].sort(),
  );
});

Deno.test("the worker socket carries a block's kind: a dependency block waits on its task", async () => {
  await using s = await served();
  const t = await s.remote.block(s.mine.id, "needs the other task", s.actor, undefined, {
    kind: "dependency",
    on: s.other.id,
  });
  assert.deepEqual([t.status, t.block_kind, t.blocked_on], ["todo", "dependency", s.other.id]);
  assert.deepEqual(t, await s.store.getTask(s.mine.id));
  // a bad kind comes back as the store's own error
  const c2 = await claimId(s.store, s.other.id);
  const remote = remoteStore({ socket: s.socket.path, token: c2.token, task: s.other.id });
  const err = await failure(
    remote.block(s.other.id, "x", worker(c2), undefined, { kind: "transient", profile: "gpu" }),
  );
  assert.ok(err instanceof ValidationError, String(err));
  assert.match(err.message, /profile goes with a capability block, not transient/);
});

Deno.test("a worker's attachments travel through the socket as bytes, both ways", async () => {
  await using s = await served();
  const content = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
  const a = await s.remote.attach(s.mine.id, { name: "dump.bin", content }, s.actor);
  assert.equal(a.run_id, s.claim.run.id);
  assert.equal(a.size, 70_000);
  assert.deepEqual((await s.store.attachment(s.mine.id, "dump.bin")).content, content);
  const back = await s.remote.attachment(s.mine.id, "dump.bin");
  assert.ok(back.content instanceof Uint8Array);
  assert.deepEqual(back.content, content);
  assert.deepEqual(await s.remote.attachments(s.mine.id), await s.store.attachments(s.mine.id));
  // confined like any worker write: another task is refused, with the store's own error
  const err = await failure(
    s.remote.attach(s.other.id, { name: "x.txt", content: new Uint8Array(1) }, s.actor),
  );
  assert.ok(err instanceof KanbanError);
  assert.match(err.message, /lease token belongs to task/);
  await s.remote.detach(s.mine.id, "dump.bin", s.actor);
  assert.deepEqual(await s.store.attachments(s.mine.id), []);
});

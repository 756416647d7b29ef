/// <reference lib="dom" />
/**
 * The drawer's attachments in headless Chromium against the compiled binary: the list shows
 * what the CLI attached, a file chosen in the file input is uploaded as it is, a download
 * link gives back the same bytes, Remove removes, and a file over the board's cap is refused
 * with the server's message. What the board holds is read through the API.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dashboard, launchBrowser, until } from "./_browser.ts";

interface Attachment {
  name: string;
  size: number;
  media_type: string;
}

Deno.test("drawer: attachments are listed, uploaded, downloaded and removed", async () => {
  await using browser = await launchBrowser();
  await using d = await dashboard(browser, {
    seed: (home) => {
      writeFileSync(join(home.home, "config.toml"), '[attachments]\nmax_bytes = "2KB"\n');
      const id = home.json<{ id: string }>(["create", "Read the spec"]).id;
      writeFileSync(join(home.home, "spec.md"), "# Spec\n");
      const r = home.kanban(["attach", id, join(home.home, "spec.md")]);
      assert.equal(r.code, 0, r.stderr);
      return id;
    },
  });
  const { page } = d;
  const id = d.seeded;
  const list = () => d.api<Attachment[]>("GET", `/api/v1/tasks/${id}/attachments`);
  await page.locator(`[data-testid=card][data-id="${id}"] [data-testid=card-title]`).click();
  const drawer = page.locator(`[data-testid=drawer][data-id="${id}"]`);
  const rows = drawer.locator("[data-testid=attachment]");
  await until("the attached spec in the drawer", async () => (await rows.count()) === 1);
  assert.equal(
    await rows.first().locator("[data-testid=attachment-link]").textContent(),
    "spec.md",
  );
  assert.equal(await rows.first().locator("[data-testid=attachment-size]").textContent(), "7 B");

  // upload: the bytes as they are, named as the file
  const bytes = new Uint8Array(1500).map((_, i) => (i * 11) % 256);
  await drawer.locator("[data-testid=attachment-input]").setInputFiles({
    name: "trace.bin",
    mimeType: "application/octet-stream",
    buffer: Buffer.from(bytes),
  });
  await until("the upload on the board", async () => (await list()).length === 2);
  await until("the upload in the drawer", async () => (await rows.count()) === 2);
  assert.deepEqual((await list()).map((a) => [a.name, a.size]), [["spec.md", 7], [
    "trace.bin",
    1500,
  ]]);

  // download through the link: the same bytes
  const link = drawer.locator("[data-testid=attachment-link]", { hasText: "trace.bin" });
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  assert.equal(download.suggestedFilename(), "trace.bin");
  const saved = await download.path();
  assert.deepEqual(new Uint8Array(readFileSync(saved!)), bytes);

  // over the cap: refused, with the server's message, nothing added
  await drawer.locator("[data-testid=attachment-input]").setInputFiles({
    name: "big.log",
    mimeType: "text/plain",
    buffer: Buffer.alloc(3000, 65),
  });
  const toast = page.locator("[data-testid=toast][data-kind=error]");
  await toast.waitFor({ state: "visible" });
  assert.match((await toast.textContent()) ?? "", /larger than the board's cap of 2048 bytes/);
  assert.equal((await list()).length, 2);

  // remove
  await rows.filter({ hasText: "spec.md" }).locator("[data-testid=attachment-remove]").click();
  await until("the removal on the board", async () => (await list()).length === 1);
  await until("the removal in the drawer", async () => (await rows.count()) === 1);
  d.assertNoErrors((e) => /413/.test(e.text)); // the refused upload's response, logged by the browser
});

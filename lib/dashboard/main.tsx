/// <reference lib="dom" />
/** @jsxImportSource preact */
/** The dashboard's entry point: render the app, load the board, go live. */
import { render } from "preact";
import { App } from "./app.tsx";
import { startLive } from "./live.ts";
import { refresh } from "./state.ts";

render(<App />, document.getElementById("app")!);
void refresh();
startLive();

/// <reference lib="dom" />
/** @jsxImportSource preact */
/** The dashboard's entry point: render the app, load the board, go live. */
import { render } from "preact";
import { App } from "./app.tsx";
import { startLive } from "./live.ts";
import { refresh } from "./state.ts";

const root = document.getElementById("app")!;
root.replaceChildren(); // the page's static "Loading" placeholder: the app draws its own
render(<App />, root);
void refresh();
startLive();

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./i18n";
import "./styles/app.css";
import { App } from "./components/App";

async function start() {
  // `npm run dev` in a plain browser: http://localhost:5173/?mock runs the UI against the fake
  // backend. import.meta.env.DEV is false in `vite build`, so this is not in the production bundle.
  if (import.meta.env.DEV && !("go" in window) && new URLSearchParams(location.search).has("mock")) {
    await import("./testing/harness");
  }
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void start();

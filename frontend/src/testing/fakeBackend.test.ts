import { describe, expect, it } from "vitest";
import { FakeBackend, goDefaults } from "./fakeBackend";

describe("the fake backend", () => {
  it("lists the catalog exactly as Go does (go-defaults.json, written by a Go test)", async () => {
    new FakeBackend({}).install();
    const App = (window as unknown as { go: { main: { App: { ListModels: () => Promise<unknown[]> } } } }).go.main.App;
    const listed = (await App.ListModels()) as Record<string, unknown>[];
    const fields = ["id", "name", "publisher", "family", "parameters", "contextSize", "chat", "license", "page",
      "downloadable", "verified", "ramBytes", "inCatalog"] as const;
    const pick = (m: Record<string, unknown>) => Object.fromEntries(fields.map((f) => [f, m[f]]));
    const goCatalog = goDefaults.catalog.map((m) => pick(m as unknown as Record<string, unknown>));
    const fakeCatalog = listed.filter((m) => m.inCatalog).map(pick);
    for (const g of goCatalog) {
      const f = fakeCatalog.find((m) => m.id === g.id);
      if (f?.installed) continue;
      expect(f, `the fake lacks ${String(g.id)}`).toBeDefined();
    }
    expect(fakeCatalog.length).toBe(goCatalog.length);
    for (const g of goCatalog) {
      const f = fakeCatalog.find((m) => m.id === g.id)!;
      // An installed model shows its file's size and estimate instead: compare the catalog facts.
      for (const k of ["name", "publisher", "family", "parameters", "contextSize", "chat", "license", "page", "downloadable", "verified"] as const) {
        expect(f[k], `${String(g.id)}.${k}`).toEqual(g[k]);
      }
    }
  });
});

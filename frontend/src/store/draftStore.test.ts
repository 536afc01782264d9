import { describe, expect, it, vi } from "vitest";
import { DraftStore, getDraftStore, resetDraftStore } from "./draftStore";

describe("DraftStore", () => {
  it("keeps one draft per conversation, the new chat ('') included", () => {
    const s = new DraftStore();
    expect(s.get("c1")).toBe("");
    s.set("c1", "for chat one");
    s.set("c2", "for chat two");
    s.set("", "for the new chat");
    expect([s.get("c1"), s.get("c2"), s.get("")]).toEqual(["for chat one", "for chat two", "for the new chat"]);
    s.clear("c2");
    expect([s.get("c1"), s.get("c2"), s.get("")]).toEqual(["for chat one", "", "for the new chat"]);
  });

  it("an empty draft is forgotten", () => {
    const s = new DraftStore();
    s.set("c1", "x");
    s.set("c2", "y");
    s.set("c1", "");
    expect(s.keys()).toEqual(["c2"]);
  });

  it("update changes a draft from its current value", () => {
    const s = new DraftStore();
    s.update("c1", (cur) => cur || "put back");
    expect(s.get("c1")).toBe("put back");
    s.set("c1", "typed meanwhile");
    s.update("c1", (cur) => cur || "put back");
    expect(s.get("c1")).toBe("typed meanwhile");
  });

  it("tells its listeners about changes only, and stops after unsubscribing", () => {
    const s = new DraftStore();
    const l = vi.fn();
    const off = s.subscribe(l);
    s.set("c1", "a");
    s.set("c1", "a");
    s.clear("c2");
    expect(l).toHaveBeenCalledTimes(1);
    off();
    s.set("c1", "b");
    expect(l).toHaveBeenCalledTimes(1);
  });

  it("the app's store is shared until reset", () => {
    getDraftStore().set("c1", "kept");
    expect(getDraftStore().get("c1")).toBe("kept");
    resetDraftStore();
    expect(getDraftStore().get("c1")).toBe("");
  });
});

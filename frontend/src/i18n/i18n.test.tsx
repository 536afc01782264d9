import { screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import en from "./en.json";
import es from "./es.json";
import i18n, { detectLanguage } from ".";
import { errorText } from "./errors";
import { errorCodeValues } from "../api/contract.gen";
import { setup } from "../testing/helpers";

const PLURAL = /_(zero|one|two|few|many|other)$/;

/** Leaf keys with plural suffixes folded: chat.tokens_one + chat.tokens_other -> chat.tokens */
function keys(obj: unknown, prefix = ""): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object") keys(v, path).forEach((x) => out.add(x));
    else out.add(path.replace(PLURAL, ""));
  }
  return out;
}

function pluralForms(obj: unknown, prefix = "", out = new Map<string, Set<string>>()) {
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object") pluralForms(v, path, out);
    else {
      const m = PLURAL.exec(path);
      if (m) {
        const base = path.replace(PLURAL, "");
        out.set(base, (out.get(base) ?? new Set()).add(m[1]!));
      }
    }
  }
  return out;
}

function strings(obj: unknown): string[] {
  return Object.values(obj as Record<string, unknown>).flatMap((v) =>
    v && typeof v === "object" ? strings(v) : [String(v)],
  );
}

describe("catalogs", () => {
  it("have the same keys in English and Spanish", () => {
    const a = keys(en);
    const b = keys(es);
    expect([...a].filter((k) => !b.has(k)), "missing in es.json").toEqual([]);
    expect([...b].filter((k) => !a.has(k)), "missing in en.json").toEqual([]);
  });

  it("have every plural form each language needs", () => {
    for (const [lang, catalog] of [["en", en], ["es", es]] as const) {
      const needed = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
      for (const [base, forms] of pluralForms(catalog)) {
        for (const cat of needed) {
          // "many" in Spanish is only for exact millions; "other" covers it if absent.
          if (cat === "many" || cat === "zero" || cat === "two" || cat === "few") continue;
          expect(forms.has(cat), `${lang}: ${base}_${cat}`).toBe(true);
        }
      }
    }
  });

  it("use the same interpolation variables in both languages", () => {
    const vars = (s: string) => [...s.matchAll(/{{\s*(\w+)/g)].map((m) => m[1]).sort().join(",");
    const flat = (obj: unknown, prefix = "", out = new Map<string, string>()) => {
      for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
        const path = prefix ? `${prefix}.${k}` : k;
        if (v && typeof v === "object") flat(v, path, out);
        else out.set(path, String(v));
      }
      return out;
    };
    const e = flat(en);
    const s = flat(es);
    for (const [k, v] of e) if (s.has(k)) expect(vars(s.get(k)!), k).toBe(vars(v));
  });

  it("translate every error code Go can return (the generated ErrorCode list)", () => {
    for (const [lang, catalog] of [["en", en], ["es", es]] as const) {
      const errors = catalog.errors as Record<string, unknown>;
      expect(errorCodeValues.filter((c) => typeof errors[c] !== "string"), lang).toEqual([]);
    }
  });

  it("have no empty strings", () => {
    expect(strings(en).filter((s) => !s.trim())).toEqual([]);
    expect(strings(es).filter((s) => !s.trim())).toEqual([]);
  });
});

describe("language", () => {
  afterEach(() => vi.restoreAllMocks());

  it("follows navigator.languages on first run", () => {
    vi.spyOn(navigator, "languages", "get").mockReturnValue(["es-MX", "en"]);
    expect(detectLanguage()).toBe("es");
    vi.spyOn(navigator, "languages", "get").mockReturnValue(["fr-FR", "en-GB"]);
    expect(detectLanguage()).toBe("en");
    vi.spyOn(navigator, "languages", "get").mockReturnValue(["de-DE"]);
    expect(detectLanguage()).toBe("en");
  });

  it("renders Spanish when the system language is Spanish and settings.language is empty", async () => {
    vi.spyOn(navigator, "languages", "get").mockReturnValue(["es-ES"]);
    setup({ settings: { language: "" } });
    expect(await screen.findByText("Empieza una conversación")).toBeInTheDocument();
    expect(document.documentElement.lang).toBe("es");
  });

  it("switches to Spanish from the settings and persists it", async () => {
    const { backend, user } = setup();
    expect(await screen.findByText("Start a conversation")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    await user.click(screen.getByTestId("settings-button"));
    await user.selectOptions(screen.getByTestId("language-select"), "es");
    await user.click(screen.getByTestId("settings-save"));

    expect(await screen.findByText("Empieza una conversación")).toBeInTheDocument();
    expect(screen.getByTestId("new-chat")).toHaveTextContent("Nuevo chat");
    expect(screen.getByTestId("composer")).toHaveAttribute("placeholder", "Escribe a BitNet…");
    expect(screen.getByTestId("status-text")).toHaveTextContent("Listo");
    expect(backend.callsOf("SaveSettings")[0]![0]).toMatchObject({ language: "es" });
  });

  it("formats numbers and plurals for Spanish", async () => {
    const { backend } = setup({
      settings: { language: "es" },
      state: { modelPresent: false, status: "not_installed" },
    });
    expect(await screen.findByTestId("download-button")).toHaveTextContent("Descargar BitNet b1.58 2B4T (1,19 GB)");
    void backend;
  });

  it("says in Spanish how much memory a model needs and how much is free, formatted", async () => {
    await i18n.changeLanguage("es");
    const error = { code: "insufficient_memory", params: { needed: 4_534_096_896, available: 2_000_000_000 }, message: "x" };
    expect(errorText(i18n, error)).toBe(
      "Este modelo necesita unos 4,53 GB de memoria y hay 2 GB libres. Cierra otros programas o elige un modelo más pequeño.",
    );
    // without its params, the general sentence
    expect(errorText(i18n, { code: "insufficient_memory", message: "x" })).toBe("No hay memoria libre suficiente para este modelo.");
  });
});

// Dev-only: installs the fake Go backend in a plain browser so the built app can be looked at
// without Go. e2e/screenshots.mjs bundles this file and injects it into dist/index.html as it
// serves it; the production bundle never includes it.
//
// Query parameters: scenario=onboarding|chat|empty|offline|bad-model|port-in-use|library,
// theme=light|dark|system, lang=en|es|"".
//   offline      the download retrying with no connection (the reason and the countdown)
//   bad-model    a model file that is present but not usable (Download again / Import a file)
//   port-in-use  the API server's port taken at start-up (status details and Settings)
//   library      the model library open: four installed models (2B4T loaded, a Falcon3, a base
//                model, an imported TQ2_0 file), Falcon-E 3B downloading, the rest to download;
//                the first chat was answered by Falcon3 1B (the "This conversation used" banner).
//                `&open=0` leaves the dialog closed.
import { BITNET_2B4T, FakeBackend, SAMPLE_ANSWER, conversation, goDefaults, stats } from "./fakeBackend";
import type { LanguageSetting, Theme } from "../api/types";

const q = new URLSearchParams(location.search);
const scenario = q.get("scenario") ?? "chat";
const theme = (q.get("theme") ?? "light") as Theme;
const lang = (q.get("lang") ?? "") as LanguageSetting;
const es = lang === "es" || (lang === "" && navigator.language.startsWith("es"));

const day = (d: number, h = 12) => new Date(Date.UTC(2025, 4, d, h)).toISOString();

const FALCON = { modelId: "falcon3-1b-instruct-1.58bit", model: "Falcon3 1B Instruct 1.58-bit" };
/** Who wrote the first chat's answer: BitNet 2B4T, or Falcon3 1B in the library scenario. */
const by = scenario === "library" ? FALCON : { modelId: BITNET_2B4T, model: "BitNet b1.58 2B4T" };

const history = es
  ? [
      conversation(
        "c1",
        "Viaje a Lisboa",
        [
          { content: "¿Qué puedo ver en Lisboa en dos días?" },
          {
            content:
              "En dos días puedes ver lo esencial:\n\n1. **Alfama** y el Castillo de San Jorge.\n2. **Belém**: la torre y el monasterio de los Jerónimos.\n3. Un atardecer en el *miradouro* de Santa Catarina.",
            stats: stats({ completionTokens: 86, decodeTps: 26.8, ttftMs: 410 }),
            ...by,
          },
        ],
        day(20),
      ),
      conversation("c2", "Receta de gazpacho", [{ content: "Dame una receta de gazpacho" }, { content: "…" }], day(18)),
      conversation("c3", "Resumen del artículo de BitNet", [{ content: "Resume el artículo" }, { content: "…" }], day(12)),
    ]
  : [
      conversation(
        "c1",
        "Weekend in Lisbon",
        [
          { content: "What should I see in Lisbon in two days?" },
          {
            content:
              "Two days is enough for the highlights:\n\n1. **Alfama** and São Jorge Castle.\n2. **Belém**: the tower and Jerónimos Monastery.\n3. Sunset at the Santa Catarina *miradouro*.",
            stats: stats({ completionTokens: 86, decodeTps: 26.8, ttftMs: 410 }),
            ...by,
          },
        ],
        day(20),
      ),
      conversation("c2", "Gazpacho recipe", [{ content: "Give me a gazpacho recipe" }, { content: "…" }], day(18)),
      conversation("c3", "Summary of the BitNet paper", [{ content: "Summarise the paper" }, { content: "…" }], day(12)),
      conversation("c4", "Regex for e-mail addresses", [{ content: "regex for emails" }, { content: "…" }], day(9)),
      conversation("c5", "Birthday message for Ana", [{ content: "birthday message" }, { content: "…" }], day(3)),
    ];

const SAMPLE_ES = [
  "Aquí tienes una función que comprueba si una cadena es un **palíndromo**, sin distinguir mayúsculas ni signos:",
  "",
  "```python",
  "import re",
  "",
  "def es_palindromo(texto: str) -> bool:",
  '    """Devuelve True si el texto se lee igual al revés."""',
  '    limpio = re.sub(r"[^a-z0-9ñáéíóú]", "", texto.lower())',
  "    return limpio == limpio[::-1]",
  "",
  'print(es_palindromo("Anita lava la tina"))  # True',
  "```",
  "",
  "Cómo funciona:",
  "",
  "1. `texto.lower()` ignora las mayúsculas.",
  "2. La expresión regular quita todo lo que no sea letra o número.",
  "3. `limpio[::-1]` es la cadena invertida; si coinciden, es un palíndromo.",
].join("\n");

const noModel = {
  modelPresent: false,
  status: "not_installed" as const,
  model: undefined,
  memoryBytes: 96_000_000,
  threads: 0,
  contextSize: 0,
};
const port = goDefaults.settings.serverPort;

const library =
  scenario === "library"
    ? {
        installed: [
          "bitnet-b1.58-large",
          {
            id: "trilm-3.9b-unpacked-tq2-0",
            name: "TriLM_3.9B_Unpacked-TQ2_0",
            family: "llama",
            parameters: 3_990_000_000,
            contextSize: 2048,
            chat: false,
            sizeBytes: 1_160_000_000,
          },
          FALCON.modelId,
          { id: BITNET_2B4T, path: goDefaults.state.model?.path },
        ],
        active: BITNET_2B4T,
      }
    : undefined;

const backend = new FakeBackend({
  library,
  settings: { theme, language: lang, ...(scenario === "port-in-use" ? { serverEnabled: true } : {}) },
  conversations: scenario === "onboarding" || scenario === "offline" ? [] : history,
  state:
    scenario === "onboarding"
      ? noModel
      : scenario === "offline"
        ? {
            ...noModel,
            status: "downloading",
            download: {
              modelId: "bitnet-b1.58-2b4t",
              state: "running",
              bytesDone: 0,
              bytesTotal: 0,
              bytesPerSecond: 0,
              etaSeconds: 0,
              attempt: 2,
              error: {
                code: "no_connection",
                message: 'Get "https://huggingface.co/…/ggml-model-i2_s.gguf": dial tcp: lookup huggingface.co: no such host',
              },
              retryAt: new Date(Date.now() + 8_000).toISOString(),
            },
          }
        : scenario === "bad-model"
          ? {
              status: "error",
              model: undefined,
              modelPresent: true,
              error: {
                code: "invalid_model",
                message:
                  "/home/user/.local/share/bitnet-desktop/models/ggml-model-i2_s.gguf is not a usable model: truncated: tensor blk.12.ffn_down.weight needs 6881280 bytes at offset 912261120, the file has 731906048",
              },
            }
          : scenario === "port-in-use"
            ? {
                serverUrl: undefined,
                serverError: {
                  code: "port_in_use",
                  params: { port, suggestedPort: port + 1 },
                  message: `listen tcp 127.0.0.1:${port}: bind: address already in use`,
                },
              }
            : {
          status: "ready",
          memoryBytes: 1_412_000_000,
          threads: 4,
          contextUsed: 266,
          contextSize: 4096,
          lastStats: stats({ decodeTps: 26.8, ttftMs: 410 }),
          serverUrl: `http://127.0.0.1:${port}`,
        },
  autoReply: {
    ...(es ? { text: () => SAMPLE_ES } : {}),
    ...(q.has("long") ? { text: () => [SAMPLE_ANSWER, SAMPLE_ANSWER, SAMPLE_ANSWER].join("\n\n---\n\n") } : {}),
    chunk: q.has("fast") ? 2 : 6,
    burst: q.has("fast") ? 6 : 1,
    intervalMs: q.has("fast") ? 2 : 25, ttftMs: 300, droppedMessages: q.get("dropped") ? Number(q.get("dropped")) : 0 },
});
backend.chooseResult = "";
backend.install(window);
(window as unknown as { __fake: FakeBackend }).__fake = backend;

if (scenario === "library") {
  // Falcon-E 3B is downloading (41 %) while 2B4T answers.
  void backend.app.DownloadModel!("falcon-e-3b-instruct" as never);
  backend.progressDownload(410_000_000, { bytesPerSecond: 11_800_000, etaSeconds: 50 });
  if (q.get("open") !== "0") {
    // Open the library once the app is on screen (as a click on the sidebar's Models button).
    const open = () => {
      const button = document.querySelector<HTMLButtonElement>('[data-testid="library-open"]');
      if (button) button.click();
      else requestAnimationFrame(open);
    };
    requestAnimationFrame(open);
  }
}

// Types of the Go <-> front end contract. They are generated from the Go types
// (internal/contract writes contract.gen.ts; docs/app-bindings.md); this file only
// re-exports them and adds the shapes of error params the UI reads.
export type * from "./contract.gen";
export {
  downloadStateValues,
  errorCodeValues,
  exportFormatValues,
  finishReasonValues,
  kVCacheSettingValues,
  languageSettingValues,
  messageStatusValues,
  modelStatusValues,
  roleValues,
  themeValues,
} from "./contract.gen";

/** params of the error codes the front end reads them from */
export type ContextLengthParams = { tokens: number; limit: number };
export type PortInUseParams = { port: number; suggestedPort: number };
export type HttpErrorParams = { status: number };
/** insufficient_memory: bytes the model needs and bytes the system has free */
export type InsufficientMemoryParams = { needed: number; available: number };

export { api } from "./client";
export type { Api } from "./client";
export { ApiError, toAppError } from "./errors";
export { eventsAvailable, onEvent, useEvent, onFileDrop, openExternal, copyText } from "./events";
export type * from "./types";

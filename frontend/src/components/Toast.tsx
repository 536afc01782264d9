import { useEffect } from "react";

export type ToastMessage = {
  id: number;
  text: string;
  kind: "info" | "error";
  /** a second, smaller line (an error's Go message) */
  detail?: string;
};

/** One short-lived message at the bottom of the window. */
export function Toast({ message, onDone }: { message: ToastMessage | null; onDone: () => void }) {
  useEffect(() => {
    if (!message) return;
    const id = window.setTimeout(onDone, message.kind === "error" ? 8000 : 3500);
    return () => window.clearTimeout(id);
  }, [message, onDone]);
  if (!message) return null;
  return (
    <div
      className={`toast toast--${message.kind}`}
      role={message.kind === "error" ? "alert" : "status"}
      data-testid="toast"
      key={message.id}
    >
      <div>{message.text}</div>
      {message.detail && (
        <div className="toast__detail" data-testid="toast-detail">
          {message.detail}
        </div>
      )}
    </div>
  );
}

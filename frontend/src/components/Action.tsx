import type { ReactNode } from "react";

/**
 * A button that is off for a reason: it stays focusable and says why in its tooltip (a disabled
 * button shows no tooltip in every webview).
 */
export function Action({
  why,
  busy,
  describedBy,
  onClick,
  className,
  testId,
  children,
}: {
  why?: string | null;
  busy?: boolean;
  /** the id of what the button acts on (the row's model name: "Use" … which model) */
  describedBy?: string;
  onClick: () => void;
  className: string;
  testId: string;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      className={className}
      data-testid={testId}
      // Off: the reason (title) describes it; else the model it acts on.
      aria-describedby={why ? undefined : describedBy}
      aria-disabled={why ? true : undefined}
      title={why ?? undefined}
      disabled={busy}
      onClick={() => {
        if (!why) onClick();
      }}
    >
      {children}
    </button>
  );
}

import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import type { AppError } from "../api";
import { useErrorText } from "../i18n/errors";
import { AlertIcon, CloseIcon } from "./icons";

/** Details longer than this are folded to two lines until opened. */
const LONG_DETAIL = 160;

/**
 * A translated error (from its code and params) with Go's message as the detail line (the real
 * reason, e.g. "…is not a usable model: truncated: tensor … needs N bytes"). Long details fold
 * open. `children` are actions shown under it.
 */
export function ErrorNote({
  error,
  onDismiss,
  className = "",
  testId = "error",
  children,
}: {
  error: AppError;
  onDismiss?: () => void;
  className?: string;
  testId?: string;
  children?: ReactNode;
}) {
  const { t } = useTranslation();
  const text = useErrorText()(error);
  const [open, setOpen] = useState(false);
  const detail = error.message && error.message !== text ? error.message : "";
  const long = detail.length > LONG_DETAIL;
  return (
    <div className={`error-note ${className}`} role="alert" data-testid={testId} data-code={error.code}>
      <AlertIcon size={16} className="error-note__icon" />
      <div className="error-note__body">
        <div className="error-note__text">{text}</div>
        {detail && (
          <div
            className={`error-note__detail ${long && !open ? "error-note__detail--folded" : ""}`}
            data-testid={`${testId}-detail`}
          >
            {t("common.details", { message: detail })}
          </div>
        )}
        {long && (
          <button type="button" className="link-button error-note__more" onClick={() => setOpen((v) => !v)} aria-expanded={open}>
            {open ? t("common.hideDetails") : t("common.showDetails")}
          </button>
        )}
        {children && <div className="error-note__actions">{children}</div>}
      </div>
      {onDismiss && (
        <button type="button" className="icon-button icon-button--small" onClick={onDismiss} aria-label={t("common.dismiss")}>
          <CloseIcon size={14} />
        </button>
      )}
    </div>
  );
}

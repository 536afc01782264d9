import { useTranslation } from "react-i18next";
import type { AppError } from "../api";
import { useErrorText } from "../i18n/errors";
import { AlertIcon, CloseIcon } from "./icons";

/** A translated error (from its code and params) with the Go message as a detail line. */
export function ErrorNote({
  error,
  onDismiss,
  className = "",
  testId = "error",
}: {
  error: AppError;
  onDismiss?: () => void;
  className?: string;
  testId?: string;
}) {
  const { t } = useTranslation();
  const text = useErrorText()(error);
  const detail = error.message && error.message !== text ? error.message : "";
  return (
    <div className={`error-note ${className}`} role="alert" data-testid={testId} data-code={error.code}>
      <AlertIcon size={16} className="error-note__icon" />
      <div className="error-note__body">
        <div className="error-note__text">{text}</div>
        {detail && <div className="error-note__detail">{t("common.details", { message: detail })}</div>}
      </div>
      {onDismiss && (
        <button type="button" className="icon-button icon-button--small" onClick={onDismiss} aria-label={t("common.dismiss")}>
          <CloseIcon size={14} />
        </button>
      )}
    </div>
  );
}

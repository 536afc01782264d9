import { useTranslation } from "react-i18next";
import { useFormat } from "../i18n/format";

/**
 * Between download attempts: "Retrying in 3 sec (attempt 5)", then "Retrying now". retryIn is
 * useSecondsUntil's value for the download's retryAt (null: not waiting, nothing shown); attempt is
 * the attempt that failed.
 */
export function RetryCountdown({
  retryIn,
  attempt,
  className,
  testId,
}: {
  retryIn: number | null;
  attempt: number;
  className: string;
  testId: string;
}) {
  const { t } = useTranslation();
  const f = useFormat();
  if (retryIn === null) return null;
  return (
    <div className={`${className} tabular`} data-testid={testId}>
      {retryIn > 0
        ? t("onboarding.retryIn", { time: f.duration(retryIn), attempt: f.number(attempt + 1) })
        : t("onboarding.retryingNow", { attempt: f.number(attempt + 1) })}
    </div>
  );
}

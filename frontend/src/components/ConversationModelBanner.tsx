import { useTranslation } from "react-i18next";
import { Action } from "./Action";
import { CloseIcon, InfoIcon } from "./icons";

/**
 * A quiet note when the open conversation's latest answer came from another model than the one
 * loaded: "This conversation used X" with "Switch to X" when X is installed. Switching is the
 * user's choice, never automatic.
 */
export function ConversationModelBanner({
  modelId,
  name,
  installed,
  switchWhy,
  onSwitch,
  onOpenLibrary,
  onDismiss,
}: {
  modelId: string;
  name: string;
  installed: boolean;
  /** why switching cannot happen now (an answer runs, a model loads), or null */
  switchWhy: string | null;
  onSwitch?: () => void;
  onOpenLibrary?: () => void;
  onDismiss: () => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="banner banner--quiet" data-testid="conversation-model-banner" data-model-id={modelId}>
      <InfoIcon size={15} className="banner__icon" />
      <span className="banner__text">
        {installed ? t("library.conversationUsed", { model: name }) : t("library.conversationUsedMissing", { model: name })}
      </span>
      <div className="banner__actions">
        {installed && onSwitch && (
          <Action className="button button--small" testId="conversation-model-switch" why={switchWhy} onClick={onSwitch}>
            {t("library.switchTo", { model: name })}
          </Action>
        )}
        {!installed && onOpenLibrary && (
          <button type="button" className="button button--small" data-testid="conversation-model-browse" onClick={onOpenLibrary}>
            {t("library.showModels")}
          </button>
        )}
        <button
          type="button"
          className="icon-button icon-button--small"
          data-testid="conversation-model-dismiss"
          aria-label={t("common.dismiss")}
          title={t("common.dismiss")}
          onClick={onDismiss}
        >
          <CloseIcon size={13} />
        </button>
      </div>
    </div>
  );
}

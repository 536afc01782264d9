import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { ArrowDownIcon } from "./icons";

const NEAR_BOTTOM_PX = 48;

/**
 * The scrolling message column. It follows new content while the reader is at the bottom, stops
 * as soon as they scroll up, and offers "Jump to latest" until they come back down.
 */
export function MessageList({
  children,
  contentKey,
  resetKey,
  followToken,
}: {
  children: ReactNode;
  /** changes whenever the content may have grown (message count + last length) */
  contentKey: string;
  /** changes when another conversation is shown: scroll to its end */
  resetKey: string;
  /** changes when the user sent something: follow again */
  followToken: number;
}) {
  const { t } = useTranslation();
  const scroller = useRef<HTMLDivElement>(null);
  const column = useRef<HTMLDivElement>(null);
  const follow = useRef(true);
  const [showJump, setShowJump] = useState(false);

  const toBottom = useCallback((smooth = false) => {
    const el = scroller.current;
    if (!el) return;
    if (smooth && typeof el.scrollTo === "function") el.scrollTo({ top: el.scrollHeight, behavior: "smooth" });
    else el.scrollTop = el.scrollHeight;
  }, []);

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    const near = el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR_BOTTOM_PX;
    follow.current = near;
    setShowJump(!near);
  }, []);

  // Scrolling up by wheel/touch/keys stops following at once (even within the threshold).
  const stopFollowing = useCallback(() => {
    follow.current = false;
  }, []);

  useLayoutEffect(() => {
    follow.current = true;
    setShowJump(false);
    toBottom();
  }, [resetKey, followToken, toBottom]);

  useLayoutEffect(() => {
    if (follow.current) toBottom();
  }, [contentKey, toBottom]);

  // Late layout changes (fonts, code highlighting, images) while following.
  useEffect(() => {
    const el = column.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => {
      if (follow.current) toBottom();
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [toBottom]);

  return (
    <div className="message-list-wrap">
      <div
        className="message-list"
        ref={scroller}
        onScroll={onScroll}
        onWheel={(e) => e.deltaY < 0 && stopFollowing()}
        onTouchMove={stopFollowing}
        onKeyDown={(e) => (e.key === "PageUp" || e.key === "ArrowUp" || e.key === "Home") && stopFollowing()}
        data-testid="message-list"
        role="log"
        aria-label={t("chat.messageList")}
        tabIndex={-1}
      >
        <div className="message-column" ref={column}>
          {children}
        </div>
      </div>
      {showJump && (
        <button
          type="button"
          className="jump-latest"
          data-testid="jump-latest"
          onClick={() => {
            follow.current = true;
            setShowJump(false);
            toBottom(true);
          }}
        >
          <ArrowDownIcon size={14} />
          {t("chat.jumpToLatest")}
        </button>
      )}
    </div>
  );
}

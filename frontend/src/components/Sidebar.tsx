import { useEffect, useLayoutEffect, useRef, useState, type ReactNode, type RefObject } from "react";
import { useTranslation } from "react-i18next";
import { toAppError } from "../api";
import type { AppError, ConversationSummary, ExportFormat } from "../api";
import type { ConversationsApi } from "../hooks/useConversations";
import { ConfirmDialog } from "./Modal";
import { CloseIcon, MoreIcon, PlusIcon, SearchIcon } from "./icons";

export const isMac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
export const modKey = (key: string) => (isMac ? `⌘${key}` : `Ctrl+${key}`);

type Props = {
  conversations: ConversationsApi;
  currentId: string | null;
  generatingId?: string;
  onSelect: (id: string) => void;
  onNew: () => void;
  onDeleted: (id: string) => void;
  onNotice: (text: string) => void;
  onError: (e: AppError) => void;
  searchRef: RefObject<HTMLInputElement | null>;
  footer: ReactNode;
};

export function Sidebar(props: Props) {
  const { conversations, currentId, generatingId, onSelect, onNew, searchRef, footer } = props;
  const { t } = useTranslation();
  const [confirming, setConfirming] = useState<ConversationSummary | null>(null);
  const { items, query, setQuery, loaded } = conversations;

  return (
    <aside className="sidebar" aria-label={t("sidebar.label")}>
      <div className="sidebar__top">
        <div className="brand">
          <span className="brand__mark" aria-hidden="true">
            b
          </span>
          <span className="brand__name">{t("app.name")}</span>
        </div>
        <button
          type="button"
          className="button button--secondary new-chat"
          data-testid="new-chat"
          onClick={onNew}
          title={t("sidebar.newChatShortcut", { shortcut: modKey("N") })}
        >
          <PlusIcon size={16} />
          <span>{t("sidebar.newChat")}</span>
        </button>
        <div className="search">
          <SearchIcon size={15} className="search__icon" />
          <input
            ref={searchRef}
            type="search"
            className="search__input"
            data-testid="search"
            placeholder={t("sidebar.search")}
            aria-label={t("sidebar.search")}
            title={t("sidebar.searchShortcut", { shortcut: modKey("K") })}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape" && query) {
                e.preventDefault();
                setQuery("");
              }
            }}
          />
          {query && (
            <button
              type="button"
              className="icon-button icon-button--small search__clear"
              aria-label={t("sidebar.clearSearch")}
              onClick={() => setQuery("")}
            >
              <CloseIcon size={13} />
            </button>
          )}
        </div>
      </div>

      <nav className="conversation-list" data-testid="conversation-list">
        {loaded && items.length === 0 && (
          <p className="conversation-list__empty">
            {query.trim() ? t("sidebar.noResults", { query: query.trim() }) : t("sidebar.empty")}
          </p>
        )}
        <ul>
          {items.map((c) => (
            <ConversationItem
              key={c.id}
              item={c}
              active={c.id === currentId}
              generating={c.id === generatingId}
              onSelect={() => onSelect(c.id)}
              onRename={(title) => conversations.rename(c.id, title).catch((e) => props.onError(toAppError(e)))}
              onExport={async (format) => {
                try {
                  const path = await conversations.exportAs(c.id, format);
                  if (path) props.onNotice(t("sidebar.exported", { path }));
                } catch (e) {
                  props.onError(toAppError(e));
                }
              }}
              onDelete={() => setConfirming(c)}
            />
          ))}
        </ul>
      </nav>

      <div className="sidebar__footer">{footer}</div>

      {confirming && (
        <ConfirmDialog
          title={t("sidebar.confirmDeleteTitle")}
          body={t("sidebar.confirmDeleteBody", { title: confirming.title || t("sidebar.untitled") })}
          confirmLabel={t("common.delete")}
          onCancel={() => setConfirming(null)}
          onConfirm={async () => {
            const c = confirming;
            setConfirming(null);
            try {
              await conversations.remove(c.id);
              props.onDeleted(c.id);
            } catch (e) {
              props.onError(toAppError(e));
            }
          }}
        />
      )}
    </aside>
  );
}

function ConversationItem({
  item,
  active,
  generating,
  onSelect,
  onRename,
  onExport,
  onDelete,
}: {
  item: ConversationSummary;
  active: boolean;
  generating: boolean;
  onSelect: () => void;
  onRename: (title: string) => void;
  onExport: (f: ExportFormat) => void;
  onDelete: () => void;
}) {
  const { t } = useTranslation();
  const [renaming, setRenaming] = useState(false);
  const [menu, setMenu] = useState(false);
  const title = item.title || t("sidebar.untitled");

  return (
    <li
      className={`conversation ${active ? "conversation--active" : ""} ${menu ? "conversation--menu" : ""}`}
      data-testid="conversation-item"
      data-id={item.id}
      data-active={active || undefined}
    >
      {renaming ? (
        <RenameInput
          initial={item.title}
          onDone={(value) => {
            setRenaming(false);
            const next = value?.trim();
            if (next && next !== item.title) onRename(next);
          }}
        />
      ) : (
        <button
          type="button"
          className="conversation__main"
          onClick={onSelect}
          onDoubleClick={() => setRenaming(true)}
          aria-current={active ? "page" : undefined}
          title={item.preview || title}
        >
          <span className="conversation__title">{title}</span>
          {generating && (
            <span className="conversation__live" aria-label={t("sidebar.generating")} title={t("sidebar.generating")} />
          )}
        </button>
      )}
      {!renaming && (
        <div className="conversation__more">
          <button
            type="button"
            className="icon-button icon-button--small"
            data-testid="conversation-menu"
            aria-label={t("sidebar.actions", { title })}
            aria-haspopup="menu"
            aria-expanded={menu}
            onClick={() => setMenu((v) => !v)}
          >
            <MoreIcon size={16} />
          </button>
          {menu && (
            <Menu onClose={() => setMenu(false)}>
              <MenuItem onClick={() => setRenaming(true)} testId="menu-rename">
                {t("sidebar.rename")}
              </MenuItem>
              <MenuItem onClick={() => onExport("markdown")} testId="menu-export-markdown">
                {t("sidebar.exportMarkdown")}
              </MenuItem>
              <MenuItem onClick={() => onExport("json")} testId="menu-export-json">
                {t("sidebar.exportJson")}
              </MenuItem>
              <MenuItem onClick={onDelete} danger testId="menu-delete">
                {t("sidebar.delete")}
              </MenuItem>
            </Menu>
          )}
        </div>
      )}
    </li>
  );
}

function RenameInput({ initial, onDone }: { initial: string; onDone: (value: string | null) => void }) {
  const { t } = useTranslation();
  const [value, setValue] = useState(initial);
  const ref = useRef<HTMLInputElement>(null);
  const done = useRef(false);
  const finish = (v: string | null) => {
    if (done.current) return;
    done.current = true;
    onDone(v);
  };
  useEffect(() => {
    ref.current?.focus();
    ref.current?.select();
  }, []);
  return (
    <input
      ref={ref}
      className="conversation__rename"
      data-testid="rename-input"
      aria-label={t("sidebar.renameLabel")}
      value={value}
      maxLength={200}
      onChange={(e) => setValue(e.target.value)}
      onBlur={() => finish(value)}
      onKeyDown={(e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          finish(value);
        } else if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          finish(null);
        }
      }}
    />
  );
}

function Menu({ children, onClose }: { children: ReactNode; onClose: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const closeRef = useRef(onClose);
  useLayoutEffect(() => {
    closeRef.current = onClose;
  });
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>("[role=menuitem]")?.focus();
    const onDown = (e: MouseEvent) => {
      const parent = ref.current?.parentElement;
      if (parent && !parent.contains(e.target as Node)) closeRef.current();
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        closeRef.current();
      }
    };
    document.addEventListener("mousedown", onDown);
    window.addEventListener("keydown", onKey, true);
    return () => {
      document.removeEventListener("mousedown", onDown);
      window.removeEventListener("keydown", onKey, true);
    };
  }, []);
  return (
    <div className="menu" role="menu" ref={ref} onClick={onClose}>
      {children}
    </div>
  );
}

function MenuItem({
  children,
  onClick,
  danger,
  testId,
}: {
  children: ReactNode;
  onClick: () => void;
  danger?: boolean;
  testId?: string;
}) {
  return (
    <button
      type="button"
      role="menuitem"
      className={`menu__item ${danger ? "menu__item--danger" : ""}`}
      data-testid={testId}
      onClick={onClick}
    >
      {children}
    </button>
  );
}

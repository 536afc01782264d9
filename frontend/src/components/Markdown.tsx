import { memo, useState, type ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import rehypeHighlight from "rehype-highlight";
import { useTranslation } from "react-i18next";
import { copyText, openExternal } from "../api";
import { CheckIcon, CopyIcon } from "./icons";

// Raw HTML in the model's text is never rendered (no rehype-raw): remarkHtmlAsText turns it into
// plain text, so "<div>" in an answer is shown, not dropped or interpreted. react-markdown's default
// URL transform drops javascript: and other unsafe links.

type MdNode = { type: string; value?: string; children?: MdNode[] };

function htmlToText(node: MdNode) {
  if (node.type === "html") node.type = "text";
  node.children?.forEach(htmlToText);
}

function remarkHtmlAsText() {
  return (tree: MdNode) => htmlToText(tree);
}

type HastNode = { type: string; value?: string; children?: HastNode[] };

function hastText(node: HastNode | undefined): string {
  if (!node) return "";
  if (node.type === "text") return node.value ?? "";
  return (node.children ?? []).map(hastText).join("");
}

function CodeBlock({ language, code, children }: { language: string; code: string; children: ReactNode }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  return (
    <div className="code-block">
      <div className="code-block__bar">
        <span className="code-block__lang">{language}</span>
        <button
          type="button"
          className="icon-text-button"
          onClick={async () => {
            if (await copyText(code.replace(/\n$/, ""))) {
              setCopied(true);
              window.setTimeout(() => setCopied(false), 1500);
            }
          }}
        >
          {copied ? <CheckIcon size={14} /> : <CopyIcon size={14} />}
          <span>{copied ? t("chat.copied") : t("chat.copyCode")}</span>
        </button>
      </div>
      <pre>{children}</pre>
    </div>
  );
}

const components: Components = {
  pre({ node, children }) {
    const codeEl = (node?.children ?? []).find(
      (c): c is Extract<typeof c, { type: "element" }> => c.type === "element" && c.tagName === "code",
    );
    const classes = (codeEl?.properties?.className as string[] | undefined) ?? [];
    const lang = classes.find((c) => c.startsWith("language-"))?.slice("language-".length) ?? "";
    return (
      <CodeBlock language={lang} code={hastText(codeEl as unknown as HastNode)}>
        {children}
      </CodeBlock>
    );
  },
  a({ href, children }) {
    return (
      <a
        href={href}
        onClick={(e) => {
          e.preventDefault();
          if (href && /^(https?:|mailto:)/i.test(href)) openExternal(href);
        }}
        title={href}
      >
        {children}
      </a>
    );
  },
  table({ children }) {
    return (
      <div className="table-wrap">
        <table>{children}</table>
      </div>
    );
  },
};

const remarkPlugins = [remarkGfm, remarkHtmlAsText];
const rehypePlugins = [[rehypeHighlight, { detect: false }]] as Parameters<typeof ReactMarkdown>[0]["rehypePlugins"];

/** Markdown with GFM and highlighted code; memoised so unchanged messages never re-parse. */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <ReactMarkdown
      remarkPlugins={remarkPlugins}
      rehypePlugins={rehypePlugins}
      components={components}
    >
      {text}
    </ReactMarkdown>
  );
});

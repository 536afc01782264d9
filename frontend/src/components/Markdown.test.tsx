import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown";
import { FakeBackend } from "../testing/fakeBackend";

describe("Markdown", () => {
  it("highlights fenced code and offers copying it", async () => {
    const backend = new FakeBackend().install();
    const { container } = render(<Markdown text={"Try:\n\n```python\ndef f(x):\n    return x\n```\n"} />);
    expect(container.querySelector("code.hljs.language-python")).not.toBeNull();
    expect(container.querySelector(".hljs-keyword")).toHaveTextContent("def");
    expect(screen.getByText("python")).toBeInTheDocument();
    await userEvent.setup().click(screen.getByText("Copy code"));
    expect(backend.clipboard).toBe("def f(x):\n    return x");
  });

  it("keeps an unterminated code fence as code while streaming", () => {
    const { container } = render(<Markdown text={"```js\nconst a = 1;\nconst b"} />);
    expect(container.querySelector("pre code")).toHaveTextContent("const a = 1; const b");
  });

  it("never renders raw HTML or unsafe links", () => {
    const { container } = render(
      <Markdown text={'Hi <img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3)) **ok**'} />,
    );
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    expect(container).toHaveTextContent('<img src=x onerror="alert(1)">');
    const link = screen.getByText("x");
    expect(link.getAttribute("href") ?? "").not.toMatch(/javascript/i);
    expect(screen.getByText("ok").tagName).toBe("STRONG");
  });

  it("opens links in the system browser", async () => {
    const backend = new FakeBackend().install();
    render(<Markdown text={"See [the paper](https://arxiv.org/abs/2504.12285)."} />);
    await userEvent.setup().click(screen.getByText("the paper"));
    expect(backend.openedUrls).toEqual(["https://arxiv.org/abs/2504.12285"]);
  });

  it("renders GFM tables", () => {
    const { container } = render(<Markdown text={"| a | b |\n| - | - |\n| 1 | 2 |"} />);
    expect(container.querySelectorAll("td")).toHaveLength(2);
  });
});

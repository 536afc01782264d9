package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// cmdChat is `bitnet chat`: an interactive conversation in the terminal.
// Ctrl+C stops the answer being written and keeps the conversation; at
// the prompt, Ctrl+C twice within two seconds, Ctrl+D or /bye quits.
func cmdChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("chat", stderr)
	var lf loadFlags
	var sf samplingFlags
	lf.register(fs)
	sf.register(fs)
	system := fs.String("system", "You are a helpful assistant.", "system prompt")
	maxTokens := fs.Int("max-tokens", 1024, "maximum tokens per answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, _, err := lf.load(ctx, stderr) // Ctrl+C while loading quits
	if err != nil {
		return err
	}
	defer m.Close()
	if !m.Info().Chat {
		return engine.Errorf(engine.CodeNotChat, nil, "%s is a base model: it completes text and has no chat format; use `bitnet generate --model %s --prompt TEXT`",
			m.Info().Name, lf.model)
	}
	// From here on the chat handles the signals: run's context would end
	// the program at the first Ctrl+C.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx = context.WithoutCancel(ctx)
	info := m.Info()
	fmt.Fprintf(stdout, "%s loaded (%d threads, context %d). Type /help for commands, /bye to quit.\n", info.Name, info.Threads, info.ContextSize)
	c := &chat{model: m, out: stdout, system: *system, maxTokens: *maxTokens, sampling: sf.sampling(),
		lines: readLines(os.Stdin), sigs: sigs}
	return c.run(ctx)
}

// chat is one terminal conversation.
type chat struct {
	model     engine.Model
	out       io.Writer
	system    string
	maxTokens int
	sampling  engine.Sampling
	lines     <-chan string // stdin, line by line; closed at end of input
	sigs      <-chan os.Signal
	msgs      []engine.Message // the conversation, without the system prompt
}

// readLines feeds r's lines into a channel, closed at the end of input.
func readLines(r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		in := bufio.NewScanner(r)
		in.Buffer(make([]byte, 1<<20), 16<<20)
		for in.Scan() {
			ch <- in.Text()
		}
	}()
	return ch
}

const chatHelp = `Commands:
  /help           this list
  /clear          start a new conversation (the system prompt stays)
  /system [TEXT]  show the system prompt, or set it (and start over)
  /bye            quit (also /exit, /quit, Ctrl+D, or Ctrl+C twice)
  """             begin and end a message of several lines
While an answer is written, Ctrl+C stops it; the conversation goes on.
`

// quitWindow is how soon a second Ctrl+C at the prompt must follow the
// first to quit.
const quitWindow = 2 * time.Second

func (c *chat) run(ctx context.Context) error {
	var lastInterrupt time.Time
	for {
		fmt.Fprint(c.out, ">>> ")
		line, quit := c.next(&lastInterrupt)
		if quit {
			fmt.Fprintln(c.out)
			return nil
		}
		text := strings.TrimSpace(line)
		if text == `"""` {
			var done bool
			if text, done = c.multiline(); done {
				fmt.Fprintln(c.out)
				return nil
			}
		}
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "/") {
			if c.command(text) {
				return nil
			}
			continue
		}
		c.answer(ctx, text)
	}
}

// next waits for a line. A Ctrl+C at the prompt warns, a second one within
// quitWindow quits; end of input and SIGTERM quit.
func (c *chat) next(lastInterrupt *time.Time) (string, bool) {
	for {
		select {
		case line, ok := <-c.lines:
			return line, !ok
		case sig := <-c.sigs:
			if sig != os.Interrupt || time.Since(*lastInterrupt) < quitWindow {
				return "", true
			}
			*lastInterrupt = time.Now()
			fmt.Fprint(c.out, "\n(Ctrl+C again or Ctrl+D to quit, /help for commands)\n>>> ")
		}
	}
}

// multiline reads lines until a line `"""`; done is true when the input
// ended.
func (c *chat) multiline() (text string, done bool) {
	var b []string
	for {
		fmt.Fprint(c.out, "... ")
		line, ok := <-c.lines
		if !ok {
			return "", true
		}
		if strings.TrimSpace(line) == `"""` {
			return strings.TrimSpace(strings.Join(b, "\n")), false
		}
		b = append(b, line)
	}
}

// command runs a /command; it returns true to quit.
func (c *chat) command(text string) bool {
	name, arg, _ := strings.Cut(text, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/bye", "/exit", "/quit":
		return true
	case "/help", "/?":
		fmt.Fprint(c.out, chatHelp)
	case "/clear", "/reset":
		c.msgs = nil
		fmt.Fprintln(c.out, "(conversation cleared)")
	case "/system":
		if arg == "" {
			if c.system == "" {
				fmt.Fprintln(c.out, "(no system prompt)")
			} else {
				fmt.Fprintf(c.out, "System prompt: %s\n", c.system)
			}
			return false
		}
		c.system, c.msgs = arg, nil
		fmt.Fprintln(c.out, "(system prompt set; conversation cleared)")
	default:
		fmt.Fprintf(c.out, "Unknown command %s. Type /help for the commands.\n", name)
	}
	return false
}

// answer sends text and streams the answer; Ctrl+C stops it and keeps what
// was written.
func (c *chat) answer(ctx context.Context, text string) {
	var msgs []engine.Message
	if c.system != "" {
		msgs = append(msgs, engine.Message{Role: "system", Content: c.system})
	}
	msgs = append(append(msgs, c.msgs...), engine.Message{Role: "user", Content: text})

	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	stopped := make(chan bool, 1)
	go func() {
		select {
		case <-c.sigs:
			cancel()
			stopped <- true
		case <-done:
			stopped <- false
		}
	}()
	res, err := c.model.Generate(genCtx, engine.Request{Messages: msgs, MaxTokens: c.maxTokens, Sampling: c.sampling},
		func(t engine.Token) { fmt.Fprint(c.out, t.Text) })
	close(done)
	interrupted := <-stopped
	if err != nil {
		fmt.Fprintf(c.out, "\nerror: %v\n", err)
		return
	}
	c.msgs = append(c.msgs, engine.Message{Role: "user", Content: text}, engine.Message{Role: "assistant", Content: res.Text})
	st := res.Stats
	note := ""
	if st.DroppedMessages > 0 {
		note = fmt.Sprintf(", %d old messages left out", st.DroppedMessages)
	}
	if interrupted {
		fmt.Fprintf(c.out, "\n\x1b[2m[stopped after %d tokens; the conversation goes on]\x1b[0m\n", st.CompletionTokens)
		return
	}
	if strings.TrimSpace(res.Text) == "" && st.CompletionTokens > 0 {
		note += "; the answer was only whitespace"
	}
	fmt.Fprintf(c.out, "\n\x1b[2m[%d tokens, %.1f tok/s, ttft %.0f ms, %s%s]\x1b[0m\n", st.CompletionTokens, st.DecodeTPS, ms(st.TTFT), st.FinishReason, note)
}

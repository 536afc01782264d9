package chattmpl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// The two conversations every fixture is rendered with.
var (
	convFull = []engine.Message{
		{Role: RoleSystem, Content: "You are helpful."},
		{Role: RoleUser, Content: "Hello"},
		{Role: RoleAssistant, Content: "Hi there"},
		{Role: RoleUser, Content: "How are you?"},
	}
	convUser = []engine.Message{{Role: RoleUser, Content: "Hello"}}
)

// llama3.2 takes "Today Date" from strftime_now.
var fixedNow = time.Date(2025, time.March, 5, 14, 0, 0, 0, time.UTC)

// fixture describes one testdata template and what it must produce. The
// expected strings were written by hand from the template's text (see
// testdata/templates/SOURCES.md), not produced by the renderer.
type fixture struct {
	name     string
	bos, eos string
	specials []string // the model's special-token texts (a relevant subset)

	full, user string // convFull and convUser with add_generation_prompt

	system    bool   // SupportsSystem
	genPrompt bool   // add_generation_prompt changes the output
	eot       string // EndOfTurn
	// history: the rendering of the first k messages without generation
	// prompt is a prefix of the rendering of the first k+1 (convFull, k ≥ 2).
	history bool
}

const (
	l3BOS = "<|begin_of_text|>"
	l3EOS = "<|end_of_text|>"
)

var l3Specials = []string{l3BOS, l3EOS, "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|python_tag|>"}

var fixtures = []fixture{
	{
		name: "falcon3-instruct", eos: "<|endoftext|>",
		specials: []string{"<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", ">>ABSTRACT<<"},
		full:     "<|system|>\nYou are helpful.\n<|user|>\nHello\n<|assistant|>\nHi there<|endoftext|>\n<|user|>\nHow are you?\n<|assistant|>\n",
		user:     "<|user|>\nHello\n<|assistant|>\n",
		system:   true, genPrompt: true, eot: "<|endoftext|>", history: true,
	},
	{
		name: "falcon3-instruct-tools", eos: "<|endoftext|>",
		specials: []string{"<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"},
		full:     "<|system|>\nYou are helpful.\n<|user|>\nHello\n<|assistant|>\nHi there<|endoftext|>\n<|user|>\nHow are you?\n<|assistant|>\n",
		user:     "<|user|>\nHello\n<|assistant|>\n",
		system:   true, genPrompt: true, eot: "<|endoftext|>", history: true,
	},
	{
		name: "llama3-instruct", bos: l3BOS, eos: l3EOS, specials: l3Specials,
		full: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n",
		user: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n",
		system: true, genPrompt: true, eot: "<|eot_id|>", history: true,
	},
	{
		name: "llama3.1-instruct", bos: l3BOS, eos: l3EOS, specials: l3Specials,
		full: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
			"Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are helpful.<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n",
		user: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
			"Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n",
		system: true, genPrompt: true, eot: "<|eot_id|>", history: true,
	},
	{
		name: "llama3.2-instruct", bos: l3BOS, eos: l3EOS, specials: l3Specials,
		full: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
			"Cutting Knowledge Date: December 2023\nToday Date: 05 Mar 2025\n\nYou are helpful.<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n",
		user: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
			"Cutting Knowledge Date: December 2023\nToday Date: 05 Mar 2025\n\n<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n",
		system: true, genPrompt: true, eot: "<|eot_id|>", history: true,
	},
	{
		name: "bitnet-2b4t", bos: l3BOS, eos: l3EOS, specials: l3Specials,
		full:   "System: You are helpful.<|eot_id|>User: Hello<|eot_id|>Assistant: Hi there<|eot_id|>User: How are you?<|eot_id|>Assistant: ",
		user:   "User: Hello<|eot_id|>Assistant: ",
		system: true, genPrompt: true, eot: "<|eot_id|>", history: true,
	},
	{
		// Drops system messages (so Render folds the system prompt into
		// the first user message) and has no generation prompt.
		name: "bitnet-2b4t-gguf-placeholder", bos: l3BOS, eos: l3EOS, specials: l3Specials,
		full: "<|begin_of_text|>Human: You are helpful.\n\nHello\n\nBITNETAssistant: <|end_of_text|>" +
			"Hi there<|end_of_text|>Human: How are you?\n\nBITNETAssistant: <|end_of_text|>",
		user:   "<|begin_of_text|>Human: Hello\n\nBITNETAssistant: <|end_of_text|>",
		system: false, genPrompt: false, eot: "<|end_of_text|>", history: true,
	},
	{
		name: "chatml", eos: "<|im_end|>", specials: []string{"<|im_start|>", "<|im_end|>", "<|endoftext|>"},
		full: "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n" +
			"<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n",
		user:   "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
		system: true, genPrompt: true, eot: "<|im_end|>", history: true,
	},
	{
		name: "qwen2.5-instruct", eos: "<|im_end|>", specials: []string{"<|im_start|>", "<|im_end|>", "<|endoftext|>"},
		full: "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n" +
			"<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n",
		user: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
			"<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
		system: true, genPrompt: true, eot: "<|im_end|>", history: true,
	},
	{
		name: "llama2-chat", bos: "<s>", eos: "</s>", specials: []string{"<s>", "</s>", "<unk>"},
		full:   "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] How are you? [/INST]",
		user:   "<s>[INST] Hello [/INST]",
		system: true, genPrompt: false, eot: "</s>", history: true,
	},
	{
		name: "mistral-7b-instruct-v0.2", bos: "<s>", eos: "</s>", specials: []string{"<s>", "</s>", "<unk>"},
		full:   "<s> [INST] You are helpful.\n\nHello [/INST] Hi there</s> [INST] How are you? [/INST]",
		user:   "<s> [INST] Hello [/INST]",
		system: true, genPrompt: false, eot: "</s>", history: true,
	},
	{
		// Raises on a system role: the system prompt is folded in.
		name: "mistral-7b-instruct-v0.2-old", bos: "<s>", eos: "</s>", specials: []string{"<s>", "</s>", "<unk>"},
		full:   "<s>[INST] You are helpful.\n\nHello [/INST]Hi there</s>[INST] How are you? [/INST]",
		user:   "<s>[INST] Hello [/INST]",
		system: false, genPrompt: false, eot: "</s>", history: true,
	},
	{
		// Raises on a system role: the system prompt is folded in.
		name: "gemma2-it", bos: "<bos>", eos: "<eos>", specials: []string{"<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"},
		full: "<bos><start_of_turn>user\nYou are helpful.\n\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n" +
			"<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n",
		user:   "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
		system: false, genPrompt: true, eot: "<end_of_turn>", history: true,
	},
	{
		// Writes eos_token when there is no generation prompt, so a shorter
		// history is not a prefix of a longer one.
		name: "phi3-mini-instruct", bos: "<s>", eos: "<|endoftext|>",
		specials: []string{"<s>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"},
		full: "<|system|>\nYou are helpful.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n" +
			"<|user|>\nHow are you?<|end|>\n<|assistant|>\n",
		user:   "<|user|>\nHello<|end|>\n<|assistant|>\n",
		system: true, genPrompt: true, eot: "<|end|>", history: false,
	},
	{
		// Drops system messages and always writes "<|assistant|>\n" after a
		// user message (no generation-prompt flag).
		name: "phi3-medium-instruct", bos: "<s>", eos: "<|endoftext|>",
		specials: []string{"<s>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"},
		full: "<|user|>\nYou are helpful.\n\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n" +
			"<|user|>\nHow are you?<|end|>\n<|assistant|>\n",
		user:   "<|user|>\nHello<|end|>\n<|assistant|>\n",
		system: false, genPrompt: false, eot: "<|end|>", history: true,
	},
	{
		name: "zephyr", bos: "<s>", eos: "</s>", specials: []string{"<s>", "</s>", "<unk>"},
		full: "<|system|>\nYou are helpful.</s>\n<|user|>\nHello</s>\n<|assistant|>\nHi there</s>\n" +
			"<|user|>\nHow are you?</s>\n<|assistant|>\n",
		user:   "<|user|>\nHello</s>\n<|assistant|>\n",
		system: true, genPrompt: true, eot: "</s>", history: true,
	},
}

func loadFixture(t testing.TB, name string) *Template {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := Parse(string(src))
	if err != nil {
		t.Fatalf("%s: Parse: %v", name, err)
	}
	return tmpl
}

func (f fixture) opts(gen bool) Options {
	return Options{BOS: f.bos, EOS: f.eos, AddGenerationPrompt: gen, Now: fixedNow}
}

// Every fixture file has a row and every row a file.
func TestFixtureFilesCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "templates", "*.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, f := range fixtures {
		rows[f.name] = true
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".jinja")
		if !rows[name] {
			t.Errorf("%s has no expected rendering in fixtures", name)
		}
		delete(rows, name)
	}
	for name := range rows {
		t.Errorf("fixture %s has no file", name)
	}
}

func TestFixtureRendering(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			tmpl := loadFixture(t, f.name)
			for _, c := range []struct {
				conv []engine.Message
				want string
			}{{convFull, f.full}, {convUser, f.user}} {
				got, err := tmpl.RenderString(c.conv, f.opts(true))
				if err != nil {
					t.Fatalf("RenderString: %v", err)
				}
				if got != c.want {
					t.Errorf("RenderString(%d messages):\n got  %q\n want %q", len(c.conv), got, c.want)
				}
				r, err := tmpl.Render(c.conv, f.opts(true))
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if !r.Split {
					t.Errorf("Render(%d messages) did not split", len(c.conv))
				}
				if r.Text() != c.want {
					t.Errorf("Render(%d messages).Text():\n got  %q\n want %q", len(c.conv), r.Text(), c.want)
				}
				checkContents(t, r, c.conv, tmpl.SupportsSystem())
			}
		})
	}
}

// checkContents checks that the content segments are exactly the message
// contents, in order, each marked with its message (a folded system prompt
// is part of the first user message's content).
func checkContents(t *testing.T, r Rendering, msgs []engine.Message, system bool) {
	t.Helper()
	var want []Segment
	for i, m := range msgs {
		switch {
		case m.Role == RoleSystem && !system:
		case i == 1 && msgs[0].Role == RoleSystem && !system:
			want = append(want, Segment{Text: msgs[0].Content + "\n\n" + m.Content, Content: true, Message: i})
		default:
			want = append(want, Segment{Text: m.Content, Content: true, Message: i})
		}
	}
	var got []Segment
	for _, s := range r.Segments {
		if s.Content {
			got = append(got, s)
		} else if s.Message != -1 {
			t.Errorf("template segment %q has Message %d", s.Text, s.Message)
		}
	}
	// A template may write a content more than once or leave one out (a
	// system prompt only some turns use); the fixtures write each once.
	if len(got) != len(want) {
		t.Fatalf("content segments %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("content segment %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestFixtureCapabilities(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			tmpl := loadFixture(t, f.name)
			if got := tmpl.SupportsSystem(); got != f.system {
				t.Errorf("SupportsSystem() = %v, want %v", got, f.system)
			}
			with, err := tmpl.RenderString(convFull, f.opts(true))
			if err != nil {
				t.Fatal(err)
			}
			without, err := tmpl.RenderString(convFull, f.opts(false))
			if err != nil {
				t.Fatal(err)
			}
			if got := with != without; got != f.genPrompt {
				t.Errorf("generation prompt changes the output: %v, want %v (with %q, without %q)", got, f.genPrompt, with, without)
			}
			if got := tmpl.EndOfTurn(f.specials, f.opts(false)); len(got) != 1 || got[0] != f.eot {
				t.Errorf("EndOfTurn = %q, want [%q]", got, f.eot)
			}
			if !tmpl.PrefixStable(f.opts(true)) {
				t.Errorf("PrefixStable = false, want true")
			}
			// From the system prompt and first user message on (a system
			// prompt alone is folded differently by templates without
			// a system role).
			history := true
			prev := ""
			for k := 2; k <= len(convFull); k++ {
				cur, err := tmpl.RenderString(convFull[:k], f.opts(false))
				if err != nil {
					t.Fatalf("history %d: %v", k, err)
				}
				if !strings.HasPrefix(cur, prev) {
					history = false
				}
				prev = cur
			}
			if history != f.history {
				t.Errorf("history prefix property = %v, want %v", history, f.history)
			}
		})
	}
}

// The split must survive a reply that continues the conversation: the
// content of every message, and only that, is marked as content.
func TestFixtureLongerConversations(t *testing.T) {
	conv := append(append([]engine.Message(nil), convFull...),
		engine.Message{Role: RoleAssistant, Content: "I am fine."},
		engine.Message{Role: RoleUser, Content: "Good."})
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			tmpl := loadFixture(t, f.name)
			for _, gen := range []bool{true, false} {
				r, err := tmpl.Render(conv, f.opts(gen))
				if err != nil {
					t.Fatal(err)
				}
				s, err := tmpl.RenderString(conv, f.opts(gen))
				if err != nil {
					t.Fatal(err)
				}
				if !r.Split || r.Text() != s {
					t.Fatalf("split %v, text %q, want %q", r.Split, r.Text(), s)
				}
				checkContents(t, r, conv, tmpl.SupportsSystem())
			}
		})
	}
}

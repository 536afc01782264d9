// Package chattmpl renders the Jinja chat templates that GGUF files carry
// in tokenizer.chat_template (Falcon3, Falcon-E, Llama 3, ChatML, ...) and
// splits the result so the engine can tokenize it safely.
//
// # Rendering
//
// Templates are rendered the way Hugging Face transformers'
// apply_chat_template does (github.com/ardanlabs/jinja, whose lexer applies
// transformers' trim_blocks and lstrip_blocks): the context holds messages
// (a list of {"role", "content"}), bos_token, eos_token,
// add_generation_prompt, tools and documents (both none), raise_exception,
// strftime_now (clock from Options.Now) and Options.Extra.
//
// # Template text and message content
//
// Render returns Segments: template text (the template's own strings,
// bos_token, eos_token, Extra values: special-token text in it is meant as
// special tokens) and Content (the text of a message: it must be encoded
// as plain text, so a user typing "<|eot_id|>" never injects a control
// token). The split is found by rendering twice, once with every non-empty
// content replaced by a sentinel (private-use runes around the message
// index) and once with the real contents, and checking that putting the
// contents where the sentinels are gives the real rendering byte for byte.
// A content may appear with surrounding whitespace removed (templates apply
// |trim, .strip() and the like to contents); those forms are tried too.
// Template segments are cut from the sentinel rendering, which never sees
// a message's content, so no byte of a content can end up in a template
// segment. When no consistent split exists (the template transformed a
// content in some other way, or took a different branch because of what a
// content says), Rendering.Split is false and Segments is the real
// rendering as a single template segment; see Rendering.Split.
//
// Rendering.Pieces goes one step further and cuts the prompt into
// special-token texts and plain-text runs, which is how the engine should
// encode it (see there).
//
// # BOS
//
// A rendering holds a BOS only where the template writes bos_token. Hugging
// Face tokenizers add one more in front when the model's add_bos_token is
// set; the engine should do the same unless the rendering already starts
// with the BOS text.
//
// # Conversation prefixes and the kv cache
//
// The runtime reuses the longest common token prefix of the cached and the
// new prompt, so the kv cache needs nothing from this package but stable
// renderings. With every fixture template the prompt of turn N (generation
// prompt included) followed by the reply is a text prefix of the prompt of
// turn N+1; PrefixStable checks a template. Pieces keeps it a token prefix
// in the usual case: assistant contents are runs of their own, as in
// chatfmt, so a reply in the history is encoded as the model generated it
// (when the generated tokens equal the reply's encoding); where turn N+1
// adds template text to the run that ended turn N's prompt (Llama 2 writes
// a space before the reply), only that run is encoded anew.
//
// # Context trimming
//
// Fit drops the oldest turns to fit a token budget with chatfmt's rules,
// rendering and counting each candidate (templates are not additive).
package chattmpl

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// Roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// ErrNoTemplate is returned by Parse for an empty template: the model has
// no chat template (base models such as HF1BitLLM/Llama3-8B-1.58).
var ErrNoTemplate = errors.New("chattmpl: the model has no chat template")

// Template is a parsed chat template. It is safe for concurrent use.
type Template struct {
	src            string
	tmpl           *jinja.Template
	supportsSystem bool
}

// Options are the values a rendering depends on besides the messages.
type Options struct {
	// BOS and EOS are the texts of the model's BOS and EOS tokens
	// (bos_token and eos_token in the template).
	BOS, EOS string
	// AddGenerationPrompt asks the template to end with the start of an
	// assistant turn. Templates that ignore it (Llama 2, Mistral v0.1/v0.2,
	// Phi-3-medium) end the prompt with their user-turn closing text, which
	// is what those models expect.
	AddGenerationPrompt bool
	// Now is the clock of strftime_now (Llama 3.2's "Today Date"); zero
	// means time.Now().
	Now time.Time
	// Extra holds more template variables (for example "enable_thinking"
	// or "date_string"). Values are converted with jinja.FromGoValue (maps
	// get sorted keys; pass a jinja.Value to keep an order). They are
	// trusted template text, never treated as content. The names set by
	// the fields above win.
	Extra map[string]any
}

// Segment is a piece of a rendered prompt.
type Segment struct {
	Text string
	// Content marks the text of message Message: encode it as plain text.
	// Otherwise Text is template text, in which special-token texts stand
	// for the special tokens.
	Content bool
	// Message is the index in the messages given to Render of the message
	// whose content this is, or -1 for template text. A system prompt that
	// Render folded into the first user message (see SupportsSystem) is
	// part of that user message's content.
	Message int
}

// Rendering is a rendered prompt.
type Rendering struct {
	Segments []Segment
	// Split reports that the message contents were located in the prompt.
	// When it is false, Segments is the whole prompt as one template
	// segment and the contents are not marked: encoding it special-aware
	// would turn special-token text typed by a user into control tokens.
	// The engine should then refuse the conversation if any content holds
	// a special-token text (or accept that risk knowingly). This happens
	// only when the template changes a content other than by trimming
	// whitespace, or branches on what a content says.
	Split bool

	roles []string // roles of the messages given to Render
}

// Text returns the whole prompt.
func (r Rendering) Text() string {
	var b strings.Builder
	for _, s := range r.Segments {
		b.WriteString(s.Text)
	}
	return b.String()
}

// Parse parses a chat template. It returns ErrNoTemplate for an empty
// template, and an *engine.Error with code engine.CodeInvalidModel when the
// template does not parse or cannot render a one-message conversation; the
// message names the problem (with its line when the parser gives one).
func Parse(src string) (*Template, error) {
	if strings.TrimSpace(src) == "" {
		return nil, ErrNoTemplate
	}
	tmpl, err := jinja.Compile(src)
	if err != nil {
		return nil, engine.Wrap(engine.CodeInvalidModel, err, "chattmpl: the chat template does not parse")
	}
	t := &Template{src: src, tmpl: tmpl}
	probe := Options{BOS: "<s>", EOS: "</s>", AddGenerationPrompt: true}
	if _, err := t.exec([]engine.Message{{Role: RoleUser, Content: "Hello"}}, probe); err != nil {
		var re *RaiseError
		if errors.As(err, &re) {
			return nil, engine.Wrap(engine.CodeInvalidModel, err,
				"chattmpl: the chat template rejects a one-message conversation: raise_exception")
		}
		return nil, engine.Wrap(engine.CodeInvalidModel, err, "chattmpl: the chat template fails on a one-message conversation")
	}
	t.supportsSystem = t.probeSystem(probe)
	return t, nil
}

// Source returns the template's text.
func (t *Template) Source() string { return t.src }

// SupportsSystem reports whether the template renders a system message.
// It is false for templates that reject a system role (raise_exception, as
// Gemma and Mistral v0.1 do) or drop it silently (Phi-3-medium). For those
// Render folds a leading system message into the first user message:
// system + "\n\n" + user.
func (t *Template) SupportsSystem() bool { return t.supportsSystem }

func (t *Template) probeSystem(o Options) bool {
	const sys = "\U000F0000system-probe\U000F0000"
	out, err := t.exec([]engine.Message{
		{Role: RoleSystem, Content: sys},
		{Role: RoleUser, Content: "Hello"},
	}, o)
	return err == nil && strings.Contains(out, sys)
}

// RaiseError is the error of the template's raise_exception (for example
// "Conversation roles must alternate user/assistant/user/assistant/...").
// Render returns it wrapped in an *engine.Error with code
// engine.CodeInvalidRequest.
type RaiseError struct{ Msg string }

func (e *RaiseError) Error() string { return e.Msg }

// validate checks the roles: system, user or assistant, and system only
// first (the rule of chatfmt and of the engine's API).
func validate(msgs []engine.Message) error {
	if len(msgs) == 0 {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "chattmpl: the conversation is empty")
	}
	for i, m := range msgs {
		switch m.Role {
		case RoleSystem:
			if i != 0 {
				return engine.Errorf(engine.CodeInvalidRequest, map[string]any{"index": i, "role": m.Role},
					"chattmpl: message %d has role %q; only the first message may be a system message", i, m.Role)
			}
		case RoleUser, RoleAssistant:
		default:
			return engine.Errorf(engine.CodeInvalidRequest, map[string]any{"index": i, "role": m.Role},
				"chattmpl: message %d has unknown role %q (want system, user or assistant)", i, m.Role)
		}
	}
	return nil
}

// prepare validates msgs and folds a leading system message into the first
// user message when the template has no system role. owner[i] is the index
// in msgs of the message prepared message i came from.
func (t *Template) prepare(msgs []engine.Message) (out []engine.Message, owner []int, err error) {
	if err := validate(msgs); err != nil {
		return nil, nil, err
	}
	out = msgs
	owner = make([]int, len(msgs))
	for i := range owner {
		owner[i] = i
	}
	if msgs[0].Role != RoleSystem || t.supportsSystem {
		return out, owner, nil
	}
	sys := msgs[0].Content
	out = append([]engine.Message(nil), msgs[1:]...)
	owner = owner[1:]
	if len(out) > 0 && out[0].Role == RoleUser {
		if sys != "" {
			if out[0].Content != "" {
				out[0].Content = sys + "\n\n" + out[0].Content
			} else {
				out[0].Content = sys
			}
		}
	} else if sys != "" {
		out = append([]engine.Message{{Role: RoleUser, Content: sys}}, out...)
		owner = append([]int{0}, owner...)
	}
	if len(out) == 0 {
		return nil, nil, engine.Errorf(engine.CodeInvalidRequest, nil,
			"chattmpl: the conversation has only a system message, which this template cannot render alone")
	}
	return out, owner, nil
}

// RenderString renders msgs as one string: what transformers'
// apply_chat_template(tokenize=False) gives. It is for display, tests and
// token counting; the model is fed Render's segments.
func (t *Template) RenderString(msgs []engine.Message, o Options) (string, error) {
	prep, _, err := t.prepare(msgs)
	if err != nil {
		return "", err
	}
	out, err := t.exec(prep, o)
	if err != nil {
		return "", renderError(err)
	}
	return out, nil
}

// Render renders msgs and splits the prompt into template text and
// message contents (see the package documentation). Errors are
// *engine.Error: engine.CodeInvalidRequest for a conversation the template
// rejects (its raise_exception, wrapped *RaiseError) or that is malformed,
// engine.CodeInvalidModel when the template itself fails.
func (t *Template) Render(msgs []engine.Message, o Options) (Rendering, error) {
	prep, owner, err := t.prepare(msgs)
	if err != nil {
		return Rendering{}, err
	}
	real, err := t.exec(prep, o)
	if err != nil {
		return Rendering{}, renderError(err)
	}
	roles := make([]string, len(msgs))
	for i, m := range msgs {
		roles[i] = m.Role
	}
	segs, ok := t.split(prep, owner, o, real)
	if !ok {
		var segs []Segment
		if real != "" {
			segs = []Segment{{Text: real, Message: -1}}
		}
		return Rendering{Segments: segs, roles: roles}, nil
	}
	return Rendering{Segments: segs, Split: true, roles: roles}, nil
}

func renderError(err error) error {
	var re *RaiseError
	if errors.As(err, &re) {
		return engine.Wrap(engine.CodeInvalidRequest, err, "chat template")
	}
	return engine.Wrap(engine.CodeInvalidModel, err, "chattmpl: the chat template failed")
}

// exec renders prepared messages.
func (t *Template) exec(msgs []engine.Message, o Options) (string, error) {
	vars := make(map[string]jinja.Value, len(o.Extra)+8)
	for k, v := range o.Extra {
		if jv, ok := v.(jinja.Value); ok {
			vars[k] = jv
		} else {
			vars[k] = jinja.FromGoValue(v)
		}
	}
	list := make([]jinja.Value, len(msgs))
	for i, m := range msgs {
		d := jinja.NewDict()
		d.AsDict().Set("role", jinja.NewString(m.Role))
		d.AsDict().Set("content", jinja.NewString(m.Content))
		list[i] = d
	}
	vars["messages"] = jinja.NewList(list)
	vars["bos_token"] = jinja.NewString(o.BOS)
	vars["eos_token"] = jinja.NewString(o.EOS)
	vars["add_generation_prompt"] = jinja.NewBool(o.AddGenerationPrompt)
	if _, ok := o.Extra["tools"]; !ok {
		vars["tools"] = jinja.None()
	}
	if _, ok := o.Extra["documents"]; !ok {
		vars["documents"] = jinja.None()
	}
	vars["raise_exception"] = jinja.NewCallable("raise_exception", raiseException)
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	vars["strftime_now"] = jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 || !args[0].IsString() {
			return jinja.Undefined(), fmt.Errorf("strftime_now takes one format string")
		}
		return jinja.NewString(strftime(now, args[0].AsString())), nil
	})
	return t.tmpl.RenderValues(vars)
}

func raiseException(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	msg := "raise_exception called"
	if len(args) > 0 {
		if args[0].IsString() {
			msg = args[0].AsString()
		} else {
			msg = args[0].String()
		}
	}
	return jinja.Undefined(), &RaiseError{Msg: msg}
}

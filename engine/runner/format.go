package runner

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/chatfmt"
	"github.com/bitnet-desktop/bitnet-desktop/engine/chattmpl"
	"github.com/bitnet-desktop/bitnet-desktop/engine/gguf"
	"github.com/bitnet-desktop/bitnet-desktop/engine/tokenize"
)

// format turns a conversation into prompt tokens for one model. A model
// without one (a base model: no chat template) completes text only.
type format interface {
	// tokens is the whole conversation with the generation prompt.
	tokens(msgs []engine.Message) ([]int32, error)
	// fit leaves out the oldest turns until the prompt is at most budget
	// tokens (chatfmt.Fit's rules); dropped counts the messages left out.
	fit(msgs []engine.Message, budget int) (ids []int32, dropped int, err error)
}

// newFormat picks the chat format of a model: 2B4T's exact format (its
// file's template is a placeholder), else the file's chat template, else
// none. A template that does not parse makes the model a base model, with
// a warning in the log.
func newFormat(f *gguf.File, spec *gguf.Spec, tok *tokenize.Tokenizer) format {
	tokens := f.Strings("tokenizer.ggml.tokens")
	if spec.Family == gguf.Family2B4T {
		sp := chatfmt.Specials{BOS: tok.BOS, EOT: tok.EOT}
		if sp.EOT < 0 {
			sp.EOT = tok.EOS
		}
		return exactFormat{tok: tok, sp: sp}
	}
	if spec.ChatTemplate == "" {
		return nil
	}
	t, err := chattmpl.Parse(spec.ChatTemplate)
	if err != nil {
		slog.Warn("the model's chat template cannot be used: it runs as a base model", "error", err)
		return nil
	}
	text := func(id int32) string {
		if id >= 0 && int(id) < len(tokens) {
			return tokens[id]
		}
		return ""
	}
	tf := &templateFormat{t: t, tok: tok, addBOS: spec.AddBOS, specials: tok.Specials(),
		opts: chattmpl.Options{BOS: text(tok.BOS), EOS: text(tok.EOS), AddGenerationPrompt: true}}
	// The template's end-of-turn tokens end an answer, as EOS does.
	for _, s := range t.EndOfTurn(tf.specials, tf.opts) {
		if ids, err := tok.Encode(s, false); err == nil && len(ids) == 1 {
			tok.AddStopToken(ids[0])
		}
	}
	return tf
}

// exactFormat is 2B4T's chat format (package chatfmt).
type exactFormat struct {
	tok *tokenize.Tokenizer
	sp  chatfmt.Specials
}

func (f exactFormat) tokens(msgs []engine.Message) ([]int32, error) {
	return chatfmt.Tokens(f.tok, f.sp, msgs)
}

func (f exactFormat) fit(msgs []engine.Message, budget int) ([]int32, int, error) {
	return chatfmt.Fit(f.tok, f.sp, msgs, budget)
}

// templateFormat renders the file's Jinja chat template. Template text is
// encoded with its special-token texts as those tokens; message contents
// as plain text.
type templateFormat struct {
	t        *chattmpl.Template
	tok      *tokenize.Tokenizer
	opts     chattmpl.Options
	specials []string
	addBOS   bool
}

func (f *templateFormat) tokens(msgs []engine.Message) ([]int32, error) {
	r, err := f.t.Render(msgs, f.opts)
	if err != nil {
		return nil, err
	}
	return f.encode(r, msgs)
}

func (f *templateFormat) fit(msgs []engine.Message, budget int) ([]int32, int, error) {
	r, dropped, err := f.t.Fit(msgs, f.opts, budget, func(r chattmpl.Rendering) (int, error) {
		ids, err := f.encode(r, msgs)
		return len(ids), err
	})
	if err != nil {
		return nil, 0, err
	}
	ids, err := f.encode(r, msgs)
	return ids, dropped, err
}

// encode turns a rendering into tokens, BOS first when the model adds one
// and the template did not write it.
func (f *templateFormat) encode(r chattmpl.Rendering, msgs []engine.Message) ([]int32, error) {
	if !r.Split {
		// The template changed a message in a way the split could not
		// follow: its text is encoded special-aware, so refuse typed
		// special-token text rather than let it become control tokens.
		for _, m := range msgs {
			for _, s := range f.specials {
				if strings.Contains(m.Content, s) {
					return nil, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"token": s},
						"a message contains the special token text %q, which this model's chat template cannot keep apart", s)
				}
			}
		}
	}
	var ids []int32
	for _, p := range r.Pieces(f.specials) {
		var part []int32
		var err error
		if p.Special {
			part, err = f.tok.Encode(p.Text, false)
			if err == nil && len(part) != 1 {
				err = errors.New("special token " + p.Text + " is not one token")
			}
		} else {
			part, err = f.tok.EncodePlain(p.Text)
		}
		if err != nil {
			return nil, engine.Wrap(engine.CodeInvalidRequest, err, "encode the chat template's output")
		}
		ids = append(ids, part...)
	}
	if f.addBOS && f.tok.BOS >= 0 && (len(ids) == 0 || ids[0] != f.tok.BOS) {
		ids = append([]int32{f.tok.BOS}, ids...)
	}
	return ids, nil
}

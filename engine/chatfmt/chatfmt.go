// Package chatfmt renders conversations in BitNet b1.58 2B4T's chat format
// and trims them to fit the context.
//
// The format (from the model's tokenizer_config; the GGUF's template is
// wrong and is not used) has no newlines:
//
//	<|begin_of_text|>System: {system}<|eot_id|>User: {user}<|eot_id|>Assistant: {reply}<|eot_id|>User: {user}<|eot_id|>Assistant:␠
//
// where ␠ stands for a space: the prompt ends with the generation prompt
// "Assistant: ", trailing space included.
// The system part is there only when the first message has role "system".
//
// Tokens are built segment by segment, each text segment encoded on its own
// and the special tokens inserted by id:
//
//	[BOS] enc("System: "+system) [EOT]
//	enc("User: "+user) [EOT]
//	enc("Assistant: ") enc(reply) [EOT]
//	...
//	enc("User: "+user) [EOT] enc("Assistant: ")
//
// An earlier reply is encoded as enc("Assistant: ") followed by enc(reply),
// never as enc("Assistant: "+reply). So the prompt of turn N, followed by the
// generated reply tokens and EOT, is an exact token prefix of the prompt of
// turn N+1 whenever the generated tokens equal enc(reply) (the usual case);
// the kv-cache prefix reuse relies on this. Encoding segments separately also
// keeps user text from ever merging with the markers around it, and the
// Encoder must not turn special-token text typed by the user (such as
// "<|eot_id|>") into special tokens.
package chatfmt

import (
	"fmt"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// Roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Text of the format.
const (
	BOSText          = "<|begin_of_text|>"
	EOTText          = "<|eot_id|>"
	SystemPrefix     = "System: "
	UserPrefix       = "User: "
	AssistantPrefix  = "Assistant: "
	GenerationPrompt = AssistantPrefix
)

// Encoder turns plain text into token ids. It must not interpret
// special-token text: "<|eot_id|>" in the input is ordinary characters.
type Encoder interface {
	EncodePlain(text string) ([]int32, error)
}

// Specials holds the ids of the special tokens the format uses
// (for 2B4T: BOS 128000, EOT 128009).
type Specials struct {
	BOS, EOT int32
}

// validate checks the roles and the order of msgs.
func validate(msgs []engine.Message) error {
	if len(msgs) == 0 {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "chatfmt: the conversation is empty")
	}
	for i, m := range msgs {
		switch m.Role {
		case RoleSystem:
			if i != 0 {
				return engine.Errorf(engine.CodeInvalidRequest, map[string]any{"index": i, "role": m.Role},
					"chatfmt: message %d has role %q; only the first message may be a system message", i, m.Role)
			}
		case RoleUser, RoleAssistant:
		default:
			return engine.Errorf(engine.CodeInvalidRequest, map[string]any{"index": i, "role": m.Role},
				"chatfmt: message %d has unknown role %q (want system, user or assistant)", i, m.Role)
		}
	}
	if last := msgs[len(msgs)-1]; last.Role != RoleUser {
		return engine.Errorf(engine.CodeInvalidRequest, map[string]any{"index": len(msgs) - 1, "role": last.Role},
			"chatfmt: the conversation must end with a user message, not %q", last.Role)
	}
	return nil
}

// Text returns the conversation as the exact prompt string, generation
// prompt included. It is for display and tests; the model is fed Tokens.
func Text(msgs []engine.Message) (string, error) {
	if err := validate(msgs); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(BOSText)
	for _, m := range msgs {
		switch m.Role {
		case RoleSystem:
			b.WriteString(SystemPrefix)
		case RoleUser:
			b.WriteString(UserPrefix)
		case RoleAssistant:
			b.WriteString(AssistantPrefix)
		}
		b.WriteString(m.Content)
		b.WriteString(EOTText)
	}
	b.WriteString(GenerationPrompt)
	return b.String(), nil
}

// encodeMessage returns the tokens of one message, its EOT included.
func encodeMessage(enc Encoder, sp Specials, i int, m engine.Message) ([]int32, error) {
	var out []int32
	add := func(text string) error {
		if text == "" {
			return nil
		}
		ids, err := enc.EncodePlain(text)
		if err != nil {
			return fmt.Errorf("chatfmt: encoding message %d (%s): %w", i, m.Role, err)
		}
		out = append(out, ids...)
		return nil
	}
	var err error
	switch m.Role {
	case RoleSystem:
		err = add(SystemPrefix + m.Content)
	case RoleUser:
		err = add(UserPrefix + m.Content)
	case RoleAssistant:
		if err = add(AssistantPrefix); err == nil {
			err = add(m.Content)
		}
	}
	if err != nil {
		return nil, err
	}
	return append(out, sp.EOT), nil
}

// encodeAll validates msgs and encodes each message and the generation
// prompt separately.
func encodeAll(enc Encoder, sp Specials, msgs []engine.Message) (perMsg [][]int32, gen []int32, err error) {
	if err := validate(msgs); err != nil {
		return nil, nil, err
	}
	perMsg = make([][]int32, len(msgs))
	for i, m := range msgs {
		if perMsg[i], err = encodeMessage(enc, sp, i, m); err != nil {
			return nil, nil, err
		}
	}
	gen, err = enc.EncodePlain(GenerationPrompt)
	if err != nil {
		return nil, nil, fmt.Errorf("chatfmt: encoding the generation prompt: %w", err)
	}
	return perMsg, gen, nil
}

// join builds BOS + the kept messages + the generation prompt.
func join(sp Specials, perMsg [][]int32, keep func(int) bool, gen []int32) []int32 {
	n := 1 + len(gen)
	for i, t := range perMsg {
		if keep(i) {
			n += len(t)
		}
	}
	out := make([]int32, 0, n)
	out = append(out, sp.BOS)
	for i, t := range perMsg {
		if keep(i) {
			out = append(out, t...)
		}
	}
	return append(out, gen...)
}

// Tokens returns the prompt tokens of the conversation, encoded segment by
// segment as the package documentation describes.
func Tokens(enc Encoder, sp Specials, msgs []engine.Message) ([]int32, error) {
	perMsg, gen, err := encodeAll(enc, sp, msgs)
	if err != nil {
		return nil, err
	}
	return join(sp, perMsg, func(int) bool { return true }, gen), nil
}

// Fit returns the prompt tokens of the conversation, leaving out the oldest
// turns until they are at most budget tokens. budget is the context size
// minus the room the caller keeps for the answer.
//
// A turn is a user message together with the assistant messages that follow
// it; assistant messages before the first user message form a turn of their
// own. Turns are dropped whole, oldest first. The system message and the last
// user message (the last turn) are always kept. dropped is the number of
// messages left out.
//
// When even the system message, the last user message and the generation
// prompt exceed budget, Fit returns an *engine.Error with code
// engine.CodeContextExceeded and params {"tokens": that minimum, "limit": budget}.
func Fit(enc Encoder, sp Specials, msgs []engine.Message, budget int) (tokens []int32, dropped int, err error) {
	perMsg, gen, err := encodeAll(enc, sp, msgs)
	if err != nil {
		return nil, 0, err
	}

	total := 1 + len(gen)
	for _, t := range perMsg {
		total += len(t)
	}

	// Turn boundaries after the system message: starts[j] is the first
	// message of turn j.
	first := 0
	if msgs[0].Role == RoleSystem {
		first = 1
	}
	var starts []int
	for i := first; i < len(msgs); i++ {
		if i == first || msgs[i].Role == RoleUser {
			starts = append(starts, i)
		}
	}
	// The last message is a user message, so the last turn is that message.
	minimum := 1 + len(gen) + len(perMsg[len(msgs)-1])
	if first == 1 {
		minimum += len(perMsg[0])
	}
	if minimum > budget {
		return nil, 0, engine.Errorf(engine.CodeContextExceeded,
			map[string]any{"tokens": minimum, "limit": budget},
			"chatfmt: the prompt needs %d tokens (system message and last user message) but only %d fit", minimum, budget)
	}

	// Drop whole turns from the front until the rest fits.
	cut := first // messages [first, cut) are dropped
	for j := 0; total > budget; j++ {
		end := starts[j+1] // j+1 exists: the minimum fits, so the last turn is never dropped
		for i := starts[j]; i < end; i++ {
			total -= len(perMsg[i])
		}
		cut = end
	}
	keep := func(i int) bool { return i < first || i >= cut }
	return join(sp, perMsg, keep, gen), cut - first, nil
}

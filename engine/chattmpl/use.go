package chattmpl

import (
	"sort"
	"strings"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// Piece is a unit of encoding: a special-token text (encode as that
// token's id) or plain text (encode with the tokenizer's plain encoder,
// which never produces special tokens).
type Piece struct {
	Text    string
	Special bool
}

// Pieces cuts the rendering into what the engine encodes. Special-token
// texts (from specials, longest first) are found in template segments only;
// content never yields a special piece. Between special tokens, template
// text and user or system content are joined into one plain run, so the
// BPE sees the text as the template wrote it ("User: Hello", not "User: "
// and "Hello"), as it did in training. Assistant contents are runs of
// their own: the engine's tokens for a reply in the history are then the
// tokens the model generated after the generation prompt, which keeps the
// kv-cache prefix across turns (the rule chatfmt follows for 2B4T).
//
// When r.Split is false the whole prompt is template text: special-token
// text typed by a user would come out as a special piece (see
// Rendering.Split).
func (r Rendering) Pieces(specials []string) []Piece {
	idx := newSpecialIndex(specials)
	var out []Piece
	var run strings.Builder
	flush := func() {
		if run.Len() > 0 {
			out = append(out, Piece{Text: run.String()})
			run.Reset()
		}
	}
	for _, s := range r.Segments {
		switch {
		case s.Content && s.Message >= 0 && s.Message < len(r.roles) && r.roles[s.Message] == RoleAssistant:
			flush()
			out = append(out, Piece{Text: s.Text})
		case s.Content:
			run.WriteString(s.Text)
		default:
			text := s.Text
			for text != "" {
				i, n := idx.find(text)
				if i < 0 {
					run.WriteString(text)
					break
				}
				run.WriteString(text[:i])
				flush()
				out = append(out, Piece{Text: text[i : i+n], Special: true})
				text = text[i+n:]
			}
		}
	}
	flush()
	return out
}

// specialIndex finds special-token texts, leftmost first, longest at a
// position.
type specialIndex map[byte][]string

func newSpecialIndex(specials []string) specialIndex {
	idx := specialIndex{}
	for _, s := range specials {
		if s != "" {
			idx[s[0]] = append(idx[s[0]], s)
		}
	}
	for _, l := range idx {
		sort.Slice(l, func(i, j int) bool { return len(l[i]) > len(l[j]) })
	}
	return idx
}

// find returns the position and length of the first special text in s,
// or -1.
func (idx specialIndex) find(s string) (int, int) {
	if len(idx) == 0 {
		return -1, 0
	}
	for i := 0; i < len(s); i++ {
		for _, sp := range idx[s[i]] {
			if strings.HasPrefix(s[i:], sp) {
				return i, len(sp)
			}
		}
	}
	return -1, 0
}

// prefix returns the longest special text s starts with, or "".
func (idx specialIndex) prefix(s string) string {
	if s == "" {
		return ""
	}
	for _, sp := range idx[s[0]] {
		if strings.HasPrefix(s, sp) {
			return sp
		}
	}
	return ""
}

// EndOfTurn returns the special-token texts that end an assistant turn in
// this template: a probe conversation (user, assistant, user) is rendered
// and the first special text after the assistant's content is taken,
// leading spaces and newlines skipped. specials are the model's special
// token texts; opts.EOS is tried too. Typical results: "<|eot_id|>"
// (Llama 3, 2B4T), "<|im_end|>" (ChatML, Qwen), "<|end|>" (Phi-3),
// "<end_of_turn>" (Gemma), the EOS text (Falcon3, Zephyr, Llama 2,
// Mistral). The engine should stop on these and on EOS. The result is
// empty when nothing recognisable follows the reply.
func (t *Template) EndOfTurn(specials []string, o Options) []string {
	all := append(append([]string(nil), specials...), o.EOS)
	idx := newSpecialIndex(all)
	mark, ok := pickMarker(append([]string{t.src, o.BOS, o.EOS}, specials...)...)
	if !ok {
		return nil
	}
	reply := string(mark) + "reply" + string(mark)
	probes := [][]engine.Message{
		{{Role: RoleUser, Content: "Hello"}, {Role: RoleAssistant, Content: reply}, {Role: RoleUser, Content: "Again"}},
		{{Role: RoleSystem, Content: "Be brief."}, {Role: RoleUser, Content: "Hello"}, {Role: RoleAssistant, Content: reply}, {Role: RoleUser, Content: "Again"}},
		{{Role: RoleUser, Content: "Hello"}, {Role: RoleAssistant, Content: reply}},
	}
	var found []string
	for _, p := range probes {
		out, err := t.RenderString(p, Options{BOS: o.BOS, EOS: o.EOS, Now: o.Now, Extra: o.Extra})
		if err != nil {
			continue
		}
		for rest := out; ; {
			i := strings.Index(rest, reply)
			if i < 0 {
				break
			}
			rest = rest[i+len(reply):]
			sp := idx.prefix(strings.TrimLeft(rest, " \t\r\n"))
			if sp != "" && !contains(found, sp) {
				found = append(found, sp)
			}
		}
		if len(found) > 0 {
			return found
		}
	}
	return nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// PrefixStable reports whether, on a probe conversation, the prompt of
// each turn (generation prompt included) followed by the assistant's reply
// is a text prefix of the next turn's prompt (spaces the template puts
// before a reply allowed). When it holds, the kv cache of one turn is
// reused by the next; templates that rewrite earlier turns (a date that
// changes, a system prompt moved to the last user message) break it.
func (t *Template) PrefixStable(o Options) bool {
	conv := []engine.Message{
		{Role: RoleSystem, Content: "Be brief."},
		{Role: RoleUser, Content: "Hello"},
		{Role: RoleAssistant, Content: "Hi there."},
		{Role: RoleUser, Content: "How are you?"},
		{Role: RoleAssistant, Content: "Fine, thanks."},
		{Role: RoleUser, Content: "Bye"},
	}
	o.AddGenerationPrompt = true
	for k := 1; k+2 < len(conv); k += 2 {
		p, err := t.RenderString(conv[:k+1], o)
		if err != nil {
			return false
		}
		n, err := t.RenderString(conv[:k+3], o)
		if err != nil {
			return false
		}
		if !strings.HasPrefix(n, p) || !strings.HasPrefix(strings.TrimLeft(n[len(p):], " "), conv[k+1].Content) {
			return false
		}
	}
	return true
}

// Fit renders msgs, leaving out the oldest turns until count (the
// engine's token count of a rendering, as it will encode it) is at most
// budget; budget is the context size minus the room kept for the answer.
// The rules are chatfmt.Fit's: a turn is a user message with the assistant
// messages after it (assistant messages before the first user message are
// a turn of their own); turns are dropped whole, oldest first; the system
// message and the last turn are always kept. dropped is the number of
// messages left out. Templates are not additive, so every candidate is
// rendered and counted (a binary search: O(log turns) renderings).
//
// When even the system message and the last turn exceed budget, Fit returns
// an *engine.Error with code engine.CodeContextExceeded and params
// {"tokens": that count, "limit": budget}.
func (t *Template) Fit(msgs []engine.Message, o Options, budget int, count func(Rendering) (int, error)) (r Rendering, dropped int, err error) {
	if err := validate(msgs); err != nil {
		return Rendering{}, 0, err
	}
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
	type result struct {
		r Rendering
		n int
	}
	cache := map[int]result{}
	eval := func(d int) (result, error) {
		if res, ok := cache[d]; ok {
			return res, nil
		}
		kept := msgs
		if d > 0 {
			kept = append(append([]engine.Message(nil), msgs[:first]...), msgs[starts[d]:]...)
		}
		r, err := t.Render(kept, o)
		if err != nil {
			return result{}, err
		}
		n, err := count(r)
		if err != nil {
			return result{}, err
		}
		cache[d] = result{r, n}
		return cache[d], nil
	}
	dropAt := func(d int) int {
		if d == 0 {
			return 0
		}
		return starts[d] - first
	}
	all, err := eval(0)
	if err != nil {
		return Rendering{}, 0, err
	}
	if all.n <= budget || len(starts) <= 1 {
		if all.n > budget {
			return Rendering{}, 0, exceeded(all.n, budget)
		}
		return all.r, 0, nil
	}
	last := len(starts) - 1
	least, err := eval(last)
	if err != nil {
		return Rendering{}, 0, err
	}
	if least.n > budget {
		return Rendering{}, 0, exceeded(least.n, budget)
	}
	lo, hi := 0, last // eval(lo) is over budget, eval(hi) fits
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		res, err := eval(mid)
		if err != nil {
			return Rendering{}, 0, err
		}
		if res.n <= budget {
			hi = mid
		} else {
			lo = mid
		}
	}
	return cache[hi].r, dropAt(hi), nil
}

func exceeded(n, budget int) error {
	return engine.Errorf(engine.CodeContextExceeded,
		map[string]any{"tokens": n, "limit": budget},
		"chattmpl: the prompt needs %d tokens (system message and last turn) but only %d fit", n, budget)
}

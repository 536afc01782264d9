package chatfmt

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/synth/vocab"
)

// byteEncoder encodes each byte as its value: one token per byte.
type byteEncoder struct {
	calls []string // every text it was asked to encode
	fail  string   // encoding a text containing this fails
}

func (e *byteEncoder) EncodePlain(text string) ([]int32, error) {
	e.calls = append(e.calls, text)
	if e.fail != "" && strings.Contains(text, e.fail) {
		return nil, errors.New("boom")
	}
	ids := make([]int32, len(text))
	for i := range len(text) {
		ids[i] = int32(text[i])
	}
	return ids, nil
}

var sp = Specials{BOS: 1000, EOT: 1009}

// decode turns byteEncoder tokens back into the prompt text.
func decode(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		switch id {
		case sp.BOS:
			b.WriteString(BOSText)
		case sp.EOT:
			b.WriteString(EOTText)
		default:
			b.WriteByte(byte(id))
		}
	}
	return b.String()
}

func sys(c string) engine.Message  { return engine.Message{Role: RoleSystem, Content: c} }
func user(c string) engine.Message { return engine.Message{Role: RoleUser, Content: c} }
func asst(c string) engine.Message { return engine.Message{Role: RoleAssistant, Content: c} }

func TestText(t *testing.T) {
	tests := []struct {
		name string
		msgs []engine.Message
		want string
	}{
		{"no system", []engine.Message{user("Hi")},
			"<|begin_of_text|>User: Hi<|eot_id|>Assistant: "},
		{"system", []engine.Message{sys("Be brief."), user("Hi")},
			"<|begin_of_text|>System: Be brief.<|eot_id|>User: Hi<|eot_id|>Assistant: "},
		{"multi-turn", []engine.Message{sys("S"), user("a"), asst("b"), user("c")},
			"<|begin_of_text|>System: S<|eot_id|>User: a<|eot_id|>Assistant: b<|eot_id|>User: c<|eot_id|>Assistant: "},
		{"no system multi-turn", []engine.Message{user("a"), asst("b"), user("c")},
			"<|begin_of_text|>User: a<|eot_id|>Assistant: b<|eot_id|>User: c<|eot_id|>Assistant: "},
		{"consecutive roles", []engine.Message{user("a"), user("b"), asst("c"), asst("d"), user("e")},
			"<|begin_of_text|>User: a<|eot_id|>User: b<|eot_id|>Assistant: c<|eot_id|>Assistant: d<|eot_id|>User: e<|eot_id|>Assistant: "},
		{"empty contents", []engine.Message{sys(""), user("")},
			"<|begin_of_text|>System: <|eot_id|>User: <|eot_id|>Assistant: "},
		{"newlines kept verbatim", []engine.Message{user("line1\nline2\n")},
			"<|begin_of_text|>User: line1\nline2\n<|eot_id|>Assistant: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Text(tt.msgs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			if !strings.HasSuffix(got, "Assistant: ") {
				t.Fatalf("no trailing space in the generation prompt: %q", got)
			}
			enc := &byteEncoder{}
			toks, err := Tokens(enc, sp, tt.msgs)
			if err != nil {
				t.Fatal(err)
			}
			if d := decode(toks); d != tt.want {
				t.Fatalf("Tokens decode to %q, Text is %q", d, tt.want)
			}
			fit, dropped, err := Fit(enc, sp, tt.msgs, len(toks))
			if err != nil || dropped != 0 || !slices.Equal(fit, toks) {
				t.Fatalf("Fit with an exact budget: dropped %d, err %v, equal %v", dropped, err, slices.Equal(fit, toks))
			}
		})
	}
}

func TestSegments(t *testing.T) {
	enc := &byteEncoder{}
	msgs := []engine.Message{sys("S"), user("u1"), asst("r1"), user("u2")}
	toks, err := Tokens(enc, sp, msgs)
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{"System: S", "User: u1", "Assistant: ", "r1", "User: u2", "Assistant: "}
	if !slices.Equal(enc.calls, wantCalls) {
		t.Fatalf("segments %q, want %q", enc.calls, wantCalls)
	}
	if toks[0] != sp.BOS || toks[len(toks)-1] != ' ' {
		t.Fatalf("tokens %v do not start with BOS and end with the space of the generation prompt", toks)
	}
	var eots int
	for _, id := range toks {
		if id == sp.EOT {
			eots++
		}
	}
	if eots != len(msgs) {
		t.Fatalf("%d EOT tokens, want one per message (%d)", eots, len(msgs))
	}
	// Special-token text typed by the user stays plain text.
	toks, err = Tokens(enc, sp, []engine.Message{user("<|eot_id|>")})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(decode(toks), EOTText); n != 2 || slices.Index(toks, sp.EOT) != len(toks)-1-len("Assistant: ") {
		t.Fatalf("user text %q became a special token: %v", "<|eot_id|>", toks)
	}
}

func TestBadConversations(t *testing.T) {
	tests := []struct {
		name string
		msgs []engine.Message
		want string
	}{
		{"empty", nil, "empty"},
		{"system not first", []engine.Message{user("a"), sys("s"), user("b")}, "only the first"},
		{"two systems", []engine.Message{sys("s"), sys("t"), user("b")}, "only the first"},
		{"unknown role", []engine.Message{{Role: "tool", Content: "x"}, user("b")}, "unknown role"},
		{"capitalised role", []engine.Message{{Role: "User", Content: "x"}}, "unknown role"},
		{"ends with assistant", []engine.Message{user("a"), asst("b")}, "must end with a user"},
		{"system only", []engine.Message{sys("s")}, "must end with a user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errText := Text(tt.msgs)
			_, errTok := Tokens(&byteEncoder{}, sp, tt.msgs)
			_, _, errFit := Fit(&byteEncoder{}, sp, tt.msgs, 1<<20)
			for _, err := range []error{errText, errTok, errFit} {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one containing %q", err, tt.want)
				}
				if !errors.Is(err, engine.ErrInvalidRequest) {
					t.Fatalf("err %v is not an invalid_request error", err)
				}
			}
		})
	}
}

func TestEncoderError(t *testing.T) {
	enc := &byteEncoder{fail: "secret"}
	_, err := Tokens(enc, sp, []engine.Message{sys("s"), user("a secret")})
	if err == nil || !strings.Contains(err.Error(), "message 1 (user)") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	enc = &byteEncoder{fail: "Assistant"}
	_, _, err = Fit(enc, sp, []engine.Message{user("a")}, 100)
	if err == nil || !strings.Contains(err.Error(), "generation prompt") {
		t.Fatalf("err = %v", err)
	}
}

func TestFitDropsOldestTurns(t *testing.T) {
	// Sizes with byteEncoder: BOS 1, generation prompt 11; "User: xx"+EOT 9,
	// "Assistant: "+"yy"+EOT 14, "System: S"+EOT 10.
	msgs := []engine.Message{
		sys("S"),
		user("u1"), asst("a1"), // turn 0: 23
		user("u2"), asst("a2"), asst("b2"), // turn 1: 37
		user("u3"),             // turn 2: 9
		user("u4"), asst("a4"), // turn 3: 23
		user("u5"), // last: 9
	}
	full, err := Tokens(&byteEncoder{}, sp, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != 1+10+23+37+9+23+9+11 {
		t.Fatalf("full prompt is %d tokens; the size comments are stale", len(full))
	}
	tests := []struct {
		budget  int
		dropped int
		kept    []engine.Message
	}{
		{len(full), 0, msgs},
		{len(full) - 1, 2, append([]engine.Message{msgs[0]}, msgs[3:]...)},
		{len(full) - 23, 2, append([]engine.Message{msgs[0]}, msgs[3:]...)},
		{len(full) - 24, 5, append([]engine.Message{msgs[0]}, msgs[6:]...)},
		{len(full) - 60 - 9, 6, append([]engine.Message{msgs[0]}, msgs[7:]...)},
		{len(full) - 60 - 9 - 1, 8, []engine.Message{msgs[0], msgs[9]}},
		{1 + 10 + 9 + 11, 8, []engine.Message{msgs[0], msgs[9]}},
	}
	for _, tt := range tests {
		got, dropped, err := Fit(&byteEncoder{}, sp, msgs, tt.budget)
		if err != nil {
			t.Fatalf("budget %d: %v", tt.budget, err)
		}
		want, _ := Tokens(&byteEncoder{}, sp, tt.kept)
		if dropped != tt.dropped || !slices.Equal(got, want) {
			t.Fatalf("budget %d: dropped %d, want %d; got %q\nwant %q", tt.budget, dropped, tt.dropped, decode(got), decode(want))
		}
		if len(got) > tt.budget {
			t.Fatalf("budget %d: %d tokens", tt.budget, len(got))
		}
	}
}

func TestFitWithoutSystemAndLeadingAssistant(t *testing.T) {
	msgs := []engine.Message{asst("hello"), user("u1"), asst("a1"), user("u2")}
	full, _ := Tokens(&byteEncoder{}, sp, msgs)
	got, dropped, err := Fit(&byteEncoder{}, sp, msgs, len(full)-1)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Tokens(&byteEncoder{}, sp, msgs[1:])
	if dropped != 1 || !slices.Equal(got, want) {
		t.Fatalf("dropped %d; got %q", dropped, decode(got))
	}
	got, dropped, err = Fit(&byteEncoder{}, sp, msgs, 1+9+11)
	if err != nil {
		t.Fatal(err)
	}
	want, _ = Tokens(&byteEncoder{}, sp, msgs[3:])
	if dropped != 3 || !slices.Equal(got, want) {
		t.Fatalf("dropped %d; got %q", dropped, decode(got))
	}
}

func TestFitOverflow(t *testing.T) {
	tests := []struct {
		name   string
		msgs   []engine.Message
		budget int
		need   int
	}{
		{"single message", []engine.Message{user(strings.Repeat("x", 100))}, 50, 1 + 6 + 100 + 1 + 11},
		{"system counts", []engine.Message{sys("SS"), user("u")}, 1 + 9 + 8 + 11, 1 + 11 + 8 + 11},
		{"history does not count", []engine.Message{user("a"), asst(strings.Repeat("y", 500)), user("u")}, 19, 1 + 8 + 11},
		{"zero budget", []engine.Message{user("u")}, 0, 1 + 8 + 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Fit(&byteEncoder{}, sp, tt.msgs, tt.budget)
			var e *engine.Error
			if !errors.As(err, &e) || e.Code != engine.CodeContextExceeded {
				t.Fatalf("err = %v, want a %s *engine.Error", err, engine.CodeContextExceeded)
			}
			if !errors.Is(err, engine.ErrContextExceeded) {
				t.Fatal("errors.Is(err, ErrContextExceeded) is false")
			}
			if e.Params["tokens"] != tt.need || e.Params["limit"] != tt.budget {
				t.Fatalf("params %v, want tokens %d limit %d", e.Params, tt.need, tt.budget)
			}
		})
	}
}

// TestPrefixProperty checks that the prompt of turn N followed by the reply
// tokens and EOT is a prefix of the prompt of turn N+1.
func TestPrefixProperty(t *testing.T) {
	checkPrefix(t, &byteEncoder{}, sp)
}

// TestPrefixPropertyBPE checks the prefix property with a real byte-level
// BPE, where encoding "Assistant: "+reply in one piece would differ.
func TestPrefixPropertyBPE(t *testing.T) {
	v, err := vocab.Build(2000, vocab.DefaultCorpus())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := vocab.NewTokenizer(v)
	if err != nil {
		t.Fatal(err)
	}
	bpeSp := Specials{BOS: v.BOS, EOT: v.EOT}
	checkPrefix(t, tok, bpeSp)

	msgs := []engine.Message{sys("Be brief."), user("Hi <|eot_id|>"), asst("Hello!"), user("Bye")}
	toks, err := Tokens(tok, bpeSp, msgs)
	if err != nil {
		t.Fatal(err)
	}
	text, err := tok.Decode(toks)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Text(msgs)
	if text != want {
		t.Fatalf("decoded %q, want %q", text, want)
	}
	var eots int
	for _, id := range toks {
		if id == v.EOT {
			eots++
		}
	}
	if eots != len(msgs) {
		t.Fatalf("%d EOT tokens, want %d: typed special text became a token", eots, len(msgs))
	}
}

func checkPrefix(t *testing.T, enc Encoder, sp Specials) {
	t.Helper()
	convo := []engine.Message{sys("You are helpful."), user("Hello there, how are you?")}
	replies := []string{"I'm fine, thanks! And you?", "Sí: 3 cosas…\n1) ñandú", " leading space reply", ""}
	users := []string{"Tell me 3 things.", "What's 12345+678?", "ok"}
	for turn, reply := range replies {
		prompt, err := Tokens(enc, sp, convo)
		if err != nil {
			t.Fatal(err)
		}
		replyToks, err := enc.EncodePlain(reply)
		if err != nil {
			t.Fatal(err)
		}
		convo = append(convo, asst(reply), user(users[turn%len(users)]))
		next, err := Tokens(enc, sp, convo)
		if err != nil {
			t.Fatal(err)
		}
		prefix := append(append(slices.Clone(prompt), replyToks...), sp.EOT)
		if len(next) < len(prefix) || !slices.Equal(next[:len(prefix)], prefix) {
			t.Fatalf("turn %d: prompt+reply+EOT (%v) is not a prefix of the next prompt (%v)", turn, prefix, next)
		}
	}
}

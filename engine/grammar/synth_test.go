package grammar

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// synthVocabSize matches LLaMA-3's vocabulary.
const synthVocabSize = 128256

var commonWords = strings.Fields(`the of and to in is that for it as was with be by on not he this are or
his from at which but have an they you were her she there been one all we their has would when if so no
what can out other them more will some time could into only new these two may first then do any like my
now over such our man me even most made after also did many before must through back years where much your
way well down should because each just those people how too little state good very make world still own
see men work long get here between both life being under never day same another know while last might us
great old year off come since against go came right used take three name value type id items data user
email status true false null error message result count total price date created updated title description
address city country code phone list key tags author content text url image page size order amount currency
first_name last_name age score level node children parent label color red green blue small medium large
yes none unknown active inactive pending done review hello world json object array string number integer
café naïve résumé über straße 東京 中文 日本語 привет мир 😀 🚀 ✓ → — … “ ” ‘ ’ € £ ¥`)

// synthVocab builds a deterministic vocabulary shaped like a byte-level BPE
// vocabulary of 128,256 tokens: the 256 single bytes, English words and
// subwords with and without a leading space, digit runs, JSON punctuation
// runs, whitespace runs, multi-byte UTF-8 pieces (whole and partial
// characters) and a few special tokens at the end.
var synthVocab = sync.OnceValues(func() ([][]byte, func(int) bool) {
	seen := map[string]bool{}
	var toks [][]byte
	add := func(s string) {
		if s == "" || seen[s] || len(toks) >= synthVocabSize-8 {
			return
		}
		seen[s] = true
		toks = append(toks, []byte(s))
	}
	for b := 0; b < 256; b++ {
		add(string([]byte{byte(b)}))
	}
	for _, w := range commonWords {
		for _, v := range []string{w, " " + w, strings.ToUpper(w[:1]) + w[1:], " " + strings.ToUpper(w[:1]) + w[1:],
			`"` + w, `"` + w + `"`, `"` + w + `":`, `"` + w + `":"`, ` "` + w + `"`, w + `"`, w + `",`, w + `"}`} {
			add(v)
		}
	}
	for i := 0; i < 1000; i++ {
		add(fmt.Sprint(i))
		add(fmt.Sprintf("%03d", i))
		add(" " + fmt.Sprint(i))
	}
	punct := []string{`":`, `",`, `{"`, `"}`, `},{`, `":"`, `","`, `"]`, `["`, `}]`, `]}`, `},`, `],`,
		"{\n", "\n}", `":{"`, `":["`, `":[`, `":{`, `": "`, `", "`, `": `, `, `, ",\n", "\"\n", ` "`, ` {`, ` [`,
		`\"`, `\\`, `\n`, `\u`, `\u00`, `\ud83d`, `\t`, `"\`, `."`, `",\n`, "}\n", "]\n", "},\n", "],\n", `{}`, `[]`,
		`""`, `":""`, `":0`, `":1`, `":-`, `.`, `...`, `--`, `==`, `=>`, `->`, `::`, `;`, `:)`, `<|`, `|>`, `</`, `/>`,
		`-1`, `0.`, `.5`, `e+`, `E-`, `1e`, `true`, `false`, `null`, ` true`, ` false`, ` null`, `true}`, `null,`,
		`":true`, `":false`, `":null`, `"},{"`, `"],"`, "\"}\n", "\n}\n"}
	for _, p := range punct {
		add(p)
	}
	for n := 1; n <= 32; n++ {
		add(strings.Repeat(" ", n))
		add("\n" + strings.Repeat(" ", n))
		add(",\n" + strings.Repeat(" ", n))
		add("\n" + strings.Repeat(" ", n) + `"`)
		add("{\n" + strings.Repeat(" ", n) + `"`)
		add(strings.Repeat("\t", 1+n%4))
	}
	for _, s := range []string{"\n\n", "\r\n", "\n\n\n", " \n", "\t\n", "\r", "\n\t", "\n\t\t"} {
		add(s)
	}
	// Multi-byte pieces: whole characters, partial ones, and words with them.
	for _, r := range "éèêëàâäôöûüùçñßøåæœ中文日本語東京сийпривтмрɑʃθðŋ😀🚀✓→—…“”‘’€£¥" {
		s := string(r)
		add(s)
		add(" " + s)
		for k := 1; k < len(s); k++ {
			add(s[:k])
			add(s[k:])
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cons := []string{"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
		"th", "ch", "sh", "st", "tr", "pl", "gr", "br", "qu", "ng", "ck", "ss", "ll"}
	vows := []string{"a", "e", "i", "o", "u", "y", "ea", "ou", "io", "ai", "ee", "oo", "é"}
	punctChars := `{}[]":,.;!?()-_/\'*#@+=<>|&%$` + "`~^"
	for len(toks) < synthVocabSize-8 {
		switch r := rng.IntN(100); {
		case r < 70: // pseudo-word, maybe with a leading space or capital
			var b strings.Builder
			if rng.IntN(2) == 0 {
				b.WriteByte(' ')
			}
			for k := 1 + rng.IntN(4); k > 0; k-- {
				b.WriteString(cons[rng.IntN(len(cons))])
				b.WriteString(vows[rng.IntN(len(vows))])
			}
			if rng.IntN(3) == 0 {
				b.WriteString(cons[rng.IntN(len(cons))])
			}
			s := b.String()
			if rng.IntN(5) == 0 {
				s = strings.ToUpper(s[:1]) + s[1:]
				if s[0] == ' ' && len(s) > 1 {
					s = " " + strings.ToUpper(s[1:2]) + s[2:]
				}
			}
			add(s)
		case r < 80: // punctuation run
			var b strings.Builder
			for k := 2 + rng.IntN(3); k > 0; k-- {
				b.WriteByte(punctChars[rng.IntN(len(punctChars))])
			}
			add(b.String())
		case r < 88: // word glued to JSON punctuation
			w := commonWords[rng.IntN(len(commonWords))]
			add([]string{w + `":`, `"` + w, w + `",`, `{"` + w, w + `"}`, ` "` + w + `":`}[rng.IntN(6)])
		case r < 94: // digit runs
			add(fmt.Sprint(rng.IntN(100000)))
		default: // random byte strings (invalid UTF-8 and partial characters)
			n := 1 + rng.IntN(4)
			bs := make([]byte, n)
			for i := range bs {
				bs[i] = byte(0x80 + rng.IntN(0x80))
			}
			add(string(bs))
		}
	}
	for _, s := range []string{"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
		"<|end_header_id|>", "<|eot_id|>", "<|python_tag|>", "<|reserved_0|>", "<|reserved_1|>"} {
		toks = append(toks, []byte(s))
	}
	special := func(id int) bool { return id >= synthVocabSize-8 }
	return toks, special
})

var testVocab = sync.OnceValue(func() *Vocab {
	toks, special := synthVocab()
	return NewVocab(toks, special)
})

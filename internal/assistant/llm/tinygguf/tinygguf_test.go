package tinygguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/fs/ggml"
)

var testChains = []Chain{
	{Marker: "<|reply|>", Reply: "Hello! Ask me about the photo."},
	{Marker: "<|call|>", Pieces: []string{"<tool_call>", `{"name":`, `"lookup",`, `"arguments":`, `{"measure":"cdr"}}`, "</tool_call>"}},
	{Marker: "<|answer|>", Reply: "The vertical cup-to-disc ratio is 0.359. Ask me about the photo again."},
}

// The file decodes with Ollama's own GGUF reader, and a forward pass over
// its tensors (zero blocks: logits = output · rmsnorm(embedding of the
// last token)) walks every chain from its marker to the end token.
func TestOllamaDecodesAndChainsWalk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := WriteFile(path, testChains); err != nil {
		t.Fatal(err)
	}
	m, err := Plan(testChains)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := ggml.Decode(f, -1)
	if err != nil {
		t.Fatal(err)
	}
	kv := g.KV()
	if kv.Architecture() != "llama" || kv.String("tokenizer.ggml.model") != "llama" || len(kv.Strings("tokenizer.ggml.tokens")) != len(m.Tokens) {
		t.Fatalf("kv: arch %q tokenizer %q tokens %d", kv.Architecture(), kv.String("tokenizer.ggml.model"), len(kv.Strings("tokenizer.ggml.tokens")))
	}
	if n := len(g.Tensors().Items()); n != 3+9 {
		t.Fatalf("%d tensors", n)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) ([]float32, []uint64) {
		for _, ts := range g.Tensors().Items() {
			if ts.Name == name {
				start := g.Tensors().Offset + ts.Offset
				out := make([]float32, ts.Elements())
				for i := range out {
					out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[start+4*uint64(i):]))
				}
				return out, ts.Shape
			}
		}
		t.Fatalf("no tensor %s", name)
		return nil, nil
	}
	embd, shape := read("token_embd.weight")
	out, _ := read("output.weight")
	d, nv := int(shape[0]), int(shape[1])
	next := func(tok int) int {
		x := embd[tok*d : (tok+1)*d]
		var ss float64
		for _, v := range x {
			ss += float64(v * v)
		}
		scale := 1 / math.Sqrt(ss/float64(d)+1e-5)
		best, second, arg := math.Inf(-1), math.Inf(-1), -1
		for v := 0; v < nv; v++ {
			var l float64
			for i := 0; i < d; i++ {
				l += float64(out[v*d+i]) * float64(x[i]) * scale
			}
			if l > best {
				best, second, arg = l, best, v
			} else if l > second {
				second = l
			}
		}
		if best-second < 50 {
			t.Errorf("token %d: margin %.1f", tok, best-second)
		}
		return arg
	}
	toks := kv.Strings("tokenizer.ggml.tokens")
	for ci, c := range testChains {
		var marker int
		for i, s := range toks {
			if s == c.Marker {
				marker = i
			}
		}
		var text strings.Builder
		tok := marker
		for steps := 0; ; steps++ {
			tok = next(tok)
			if tok == EOSID || steps > 50 {
				break
			}
			text.WriteString(strings.ReplaceAll(toks[tok], "▁", " "))
		}
		want := c.Reply
		if c.Pieces != nil {
			want = strings.Join(c.Pieces, "")
		}
		if text.String() != want || m.Text(ci) != want {
			t.Errorf("chain %s: generated %q (plan %q), want %q", c.Marker, text.String(), m.Text(ci), want)
		}
	}
}

func TestSplitMakesUniquePieces(t *testing.T) {
	m, err := Plan([]Chain{{Marker: "<a>", Reply: "the cat and the dog and the bird"}, {Marker: "<b>", Reply: "the cat"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text(0) != "the cat and the dog and the bird" || m.Text(1) != "the cat" {
		t.Errorf("%q %q", m.Text(0), m.Text(1))
	}
	if _, err := Plan([]Chain{{Marker: "<a>", Pieces: []string{"x", "x"}}}); err == nil {
		t.Error("duplicate pieces accepted")
	}
}

// Extra vocabulary adds every word and its prefixes, keeps the chains, and
// keeps token texts unique (a GGUF requirement).
func TestPlanVocab(t *testing.T) {
	m, err := PlanVocab(testChains, "Every number you state Hello the photo")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tok := range m.Tokens {
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
	}
	for _, want := range []string{"▁Every", "▁Ev", "number", "▁photo"} {
		if !seen[want] {
			t.Errorf("no token %q", want)
		}
	}
	for i, c := range testChains {
		want := c.Reply
		if c.Pieces != nil {
			want = strings.Join(c.Pieces, "")
		}
		if m.Text(i) != want {
			t.Errorf("chain %d: %q", i, m.Text(i))
		}
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil || buf.Len() == 0 {
		t.Fatal(err)
	}
}

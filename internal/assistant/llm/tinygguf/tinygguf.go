// Package tinygguf writes a tiny llama-architecture GGUF model whose
// replies are scripted, so that a real Ollama (or llama.cpp) can be tested
// without downloading weights.
//
// The model: F32 tensors, one transformer block whose weights are all zero,
// so attention and the feed-forward network add nothing and the residual
// stream at every position is that token's embedding. The output layer
// therefore maps the LAST token alone to the next token's logits. Each
// scripted reply is a chain: a marker token (a user-defined special token
// such as "<|reply|>", which a Modelfile TEMPLATE puts at the end of the
// prompt) selects the reply's first piece, each piece selects the next, and
// the last piece selects the end-of-sequence token. The logit margin is
// large (about 90), so sampling at Ollama's default temperature is as
// deterministic as greedy decoding.
//
// The vocabulary is SentencePiece-style (tokenizer.ggml.model "llama"):
// <unk>, <s>, </s>, the 256 byte-fallback tokens <0x00>..<0xFF> (so any
// prompt text tokenizes), the markers and the reply pieces. Piece texts
// must be unique in a GGUF vocabulary, so a reply is cut into words (a
// leading space written as "▁") and a word that already appears elsewhere
// is merged with its neighbours until the piece is new. PlanVocab and
// WriteFileVocab add the words of a text (and their prefixes) as ordinary
// tokens, which only makes prompts of those words shorter.
//
// Usage:
//
//	err := tinygguf.WriteFile("tiny.gguf", []tinygguf.Chain{
//		{Marker: "<|reply|>", Reply: "Hello! Ask me about the photo."},
//	})
//
// or, from the command line, `go run ./internal/assistant/llm/tinygguf/cmd
// OUT.gguf '<|reply|>=Hello!'` (see docs/assistant.md).
package tinygguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// Chain is one scripted reply: the prompt's last token Marker makes the
// model answer Reply, then stop.
type Chain struct {
	Marker string
	// Reply is the text; it is cut into pieces automatically unless
	// Pieces is set.
	Reply string
	// Pieces, when set, are the reply's tokens as they are to be
	// generated (plain text; spaces are fine). Every piece must be unique
	// across all chains.
	Pieces []string
}

// Token ids of the specials.
const (
	UnkID = 0
	BOSID = 1
	EOSID = 2
)

// SentencePiece token types (llama.cpp's LLAMA_TOKEN_TYPE_*).
const (
	typeNormal      = 1
	typeUnknown     = 2
	typeControl     = 3
	typeUserDefined = 4
	typeByte        = 6
)

// Model is a planned GGUF: its vocabulary and chains, before writing.
type Model struct {
	Tokens []string
	types  []int32
	next   map[int]int // token id → next token id
	slot   map[int]int // token id → embedding dimension it owns
	nEmbd  int
	Chains [][]int // the token ids of each chain, marker first, EOS last
}

// spm turns plain text into SentencePiece piece text (spaces as ▁).
func spm(s string) string { return strings.ReplaceAll(s, " ", "▁") }

// Plan lays out the vocabulary and the successor of each chain token.
func Plan(chains []Chain) (*Model, error) { return PlanVocab(chains, "") }

// PlanVocab is Plan with extra vocabulary: every word of text, with and
// without its leading space, and all its prefixes (so SentencePiece's
// merges can reach it) become ordinary tokens. A prompt made of those
// words is then a few tokens per word instead of one per byte, which
// makes the model's pass over a long prompt several times faster; the
// replies are unchanged (only the last token counts).
func PlanVocab(chains []Chain, text string) (*Model, error) {
	if len(chains) == 0 {
		return nil, errors.New("tinygguf: no chains")
	}
	m := &Model{next: map[int]int{}, slot: map[int]int{}}
	index := map[string]int{}
	add := func(text string, typ int32) (int, error) {
		if _, dup := index[text]; dup {
			return 0, fmt.Errorf("tinygguf: token %q appears twice", text)
		}
		if text == "" {
			return 0, errors.New("tinygguf: empty token")
		}
		id := len(m.Tokens)
		index[text] = id
		m.Tokens = append(m.Tokens, text)
		m.types = append(m.types, typ)
		return id, nil
	}
	add("<unk>", typeUnknown)
	add("<s>", typeControl)
	add("</s>", typeControl)
	for b := 0; b < 256; b++ {
		add(fmt.Sprintf("<0x%02X>", b), typeByte)
	}
	// Markers first, so that a piece never takes a marker's text.
	for _, c := range chains {
		if c.Marker == "" {
			return nil, errors.New("tinygguf: a chain without a marker")
		}
		if _, err := add(c.Marker, typeUserDefined); err != nil {
			return nil, err
		}
	}
	for _, c := range chains {
		pieces := c.Pieces
		if pieces == nil {
			pieces = split(c.Reply, func(p string) bool { _, used := index[spm(p)]; return used })
		}
		if len(pieces) == 0 {
			return nil, fmt.Errorf("tinygguf: chain %q has no reply", c.Marker)
		}
		ids := []int{index[c.Marker]}
		for _, p := range pieces {
			id, err := add(spm(p), typeNormal)
			if err != nil {
				return nil, fmt.Errorf("%w (in the reply to %q; pieces must be unique)", err, c.Marker)
			}
			ids = append(ids, id)
		}
		ids = append(ids, EOSID)
		for i := 0; i+1 < len(ids); i++ {
			m.next[ids[i]] = ids[i+1]
			m.slot[ids[i]] = len(m.slot)
		}
		m.Chains = append(m.Chains, ids)
	}
	m.nEmbd = 64 * ((len(m.slot) + 63) / 64)
	for _, w := range strings.Fields(text) {
		for _, v := range []string{w, "▁" + w} {
			r := []rune(v)
			for n := 2; n <= len(r); n++ {
				if _, dup := index[string(r[:n])]; !dup {
					add(string(r[:n]), typeNormal)
				}
			}
		}
	}
	return m, nil
}

// split cuts text into word pieces (each with its leading space) and
// merges a piece with the next words while used says its text is taken
// (or it repeats a piece of this reply); a last piece still taken is merged
// into the one before.
func split(text string, used func(string) bool) []string {
	var words []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' && text[i-1] != ' ' {
			words = append(words, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		words = append(words, text[start:])
	}
	var out []string
	mine := map[string]bool{}
	taken := func(p string) bool { return used(p) || mine[p] }
	for i := 0; i < len(words); {
		p := words[i]
		i++
		for taken(p) && i < len(words) {
			p += words[i]
			i++
		}
		if taken(p) && len(out) > 0 {
			delete(mine, out[len(out)-1])
			out[len(out)-1] += p
			mine[out[len(out)-1]] = true
			continue
		}
		out = append(out, p)
		mine[p] = true
	}
	return out
}

// WriteFile writes the model for chains to path.
func WriteFile(path string, chains []Chain) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, chains); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteFileVocab writes the model for chains with the extra vocabulary of
// text (see PlanVocab) to path.
func WriteFileVocab(path string, chains []Chain, text string) error {
	m, err := PlanVocab(chains, text)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := m.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Write writes the model for chains as GGUF (version 3).
func Write(w io.Writer, chains []Chain) error {
	m, err := Plan(chains)
	if err != nil {
		return err
	}
	return m.Write(w)
}

// Hyper-parameters of the tiny model.
const (
	nLayer  = 1
	nFF     = 64
	nCtx    = 8192
	headDim = 64
	// margin is the output weight of a chain's next token; after the RMS
	// norm the last token's embedding has value sqrt(nEmbd) ≥ 8 in its
	// slot, so the chosen logit is ≥ 8·margin and every other logit is 0.
	margin = 12
)

type tensor struct {
	name string
	dims []uint64 // ne[0] first (the fastest-varying)
	data []float32
}

// Write writes m as GGUF.
func (m *Model) Write(w io.Writer) error {
	nVocab := len(m.Tokens)
	d := m.nEmbd
	nHead := d / headDim
	zeros := func(n int) []float32 { return make([]float32, n) }
	ones := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = 1
		}
		return x
	}
	embd := zeros(nVocab * d)
	out := zeros(nVocab * d)
	for tok, s := range m.slot {
		embd[tok*d+s] = 1
		out[m.next[tok]*d+s] = margin
	}
	ts := []tensor{
		{"token_embd.weight", []uint64{uint64(d), uint64(nVocab)}, embd},
		{"output_norm.weight", []uint64{uint64(d)}, ones(d)},
		{"output.weight", []uint64{uint64(d), uint64(nVocab)}, out},
	}
	for l := 0; l < nLayer; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts,
			tensor{p + "attn_norm.weight", []uint64{uint64(d)}, ones(d)},
			tensor{p + "attn_q.weight", []uint64{uint64(d), uint64(d)}, zeros(d * d)},
			tensor{p + "attn_k.weight", []uint64{uint64(d), uint64(d)}, zeros(d * d)},
			tensor{p + "attn_v.weight", []uint64{uint64(d), uint64(d)}, zeros(d * d)},
			tensor{p + "attn_output.weight", []uint64{uint64(d), uint64(d)}, zeros(d * d)},
			tensor{p + "ffn_norm.weight", []uint64{uint64(d)}, ones(d)},
			tensor{p + "ffn_gate.weight", []uint64{uint64(d), nFF}, zeros(d * nFF)},
			tensor{p + "ffn_up.weight", []uint64{uint64(d), nFF}, zeros(d * nFF)},
			tensor{p + "ffn_down.weight", []uint64{nFF, uint64(d)}, zeros(nFF * d)},
		)
	}
	// SentencePiece merges the highest-scoring pair first: longer pieces
	// score higher.
	scores := make([]float32, nVocab)
	for i, t := range m.Tokens {
		scores[i] = float32(len(t))
	}

	bw := bufio.NewWriter(w)
	e := &enc{w: bw}
	e.raw([]byte("GGUF"))
	e.u32(3)
	e.u64(uint64(len(ts)))
	kvs := []func(){
		func() { e.kvString("general.architecture", "llama") },
		func() { e.kvString("general.name", "retinalgpt-tiny") },
		func() { e.kvU32("general.file_type", 0) },
		func() { e.kvU32("general.alignment", 32) },
		func() { e.kvU32("llama.context_length", nCtx) },
		func() { e.kvU32("llama.embedding_length", uint32(d)) },
		func() { e.kvU32("llama.block_count", nLayer) },
		func() { e.kvU32("llama.feed_forward_length", nFF) },
		func() { e.kvU32("llama.attention.head_count", uint32(nHead)) },
		func() { e.kvU32("llama.attention.head_count_kv", uint32(nHead)) },
		func() { e.kvU32("llama.rope.dimension_count", headDim) },
		func() { e.kvF32("llama.rope.freq_base", 10000) },
		func() { e.kvF32("llama.attention.layer_norm_rms_epsilon", 1e-5) },
		func() { e.kvU32("llama.vocab_size", uint32(nVocab)) },
		func() { e.kvString("tokenizer.ggml.model", "llama") },
		func() { e.kvStrings("tokenizer.ggml.tokens", m.Tokens) },
		func() { e.kvF32s("tokenizer.ggml.scores", scores) },
		func() { e.kvI32s("tokenizer.ggml.token_type", m.types) },
		func() { e.kvU32("tokenizer.ggml.bos_token_id", BOSID) },
		func() { e.kvU32("tokenizer.ggml.eos_token_id", EOSID) },
		func() { e.kvU32("tokenizer.ggml.unknown_token_id", UnkID) },
		func() { e.kvBool("tokenizer.ggml.add_bos_token", true) },
		func() { e.kvBool("tokenizer.ggml.add_eos_token", false) },
	}
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		kv()
	}
	const align = 32
	var off uint64
	offsets := make([]uint64, len(ts))
	for i, t := range ts {
		e.str(t.name)
		e.u32(uint32(len(t.dims)))
		for _, x := range t.dims {
			e.u64(x)
		}
		e.u32(0) // GGML_TYPE_F32
		offsets[i] = off
		e.u64(off)
		off += uint64(4 * len(t.data))
		off = (off + align - 1) / align * align
	}
	e.pad(align)
	start := e.n
	for i, t := range ts {
		for e.n-start < offsets[i] {
			e.raw([]byte{0})
		}
		buf := make([]byte, 4*len(t.data))
		for j, v := range t.data {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		e.raw(buf)
	}
	e.pad(align)
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

// enc writes GGUF's little-endian primitives and counts bytes.
type enc struct {
	w   io.Writer
	n   uint64
	err error
}

func (e *enc) raw(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += uint64(n)
	e.err = err
}

func (e *enc) u32(x uint32) { e.raw(binary.LittleEndian.AppendUint32(nil, x)) }
func (e *enc) u64(x uint64) { e.raw(binary.LittleEndian.AppendUint64(nil, x)) }
func (e *enc) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }
func (e *enc) pad(a uint64) {
	for e.n%a != 0 {
		e.raw([]byte{0})
	}
}

// GGUF value types.
const (
	ggufU32    = 4
	ggufI32    = 5
	ggufF32    = 6
	ggufBool   = 7
	ggufString = 8
	ggufArray  = 9
)

func (e *enc) kvU32(k string, v uint32)  { e.str(k); e.u32(ggufU32); e.u32(v) }
func (e *enc) kvF32(k string, v float32) { e.str(k); e.u32(ggufF32); e.u32(math.Float32bits(v)) }
func (e *enc) kvString(k, v string)      { e.str(k); e.u32(ggufString); e.str(v) }
func (e *enc) kvBool(k string, v bool) {
	e.str(k)
	e.u32(ggufBool)
	if v {
		e.raw([]byte{1})
	} else {
		e.raw([]byte{0})
	}
}
func (e *enc) kvStrings(k string, v []string) {
	e.str(k)
	e.u32(ggufArray)
	e.u32(ggufString)
	e.u64(uint64(len(v)))
	for _, s := range v {
		e.str(s)
	}
}
func (e *enc) kvF32s(k string, v []float32) {
	e.str(k)
	e.u32(ggufArray)
	e.u32(ggufF32)
	e.u64(uint64(len(v)))
	for _, x := range v {
		e.u32(math.Float32bits(x))
	}
}
func (e *enc) kvI32s(k string, v []int32) {
	e.str(k)
	e.u32(ggufArray)
	e.u32(ggufI32)
	e.u64(uint64(len(v)))
	for _, x := range v {
		e.u32(uint32(x))
	}
}

// Next returns the token the model generates after tok (-1 if none): what
// the GGUF's weights encode, for tests that check the file without Ollama.
func (m *Model) Next(tok int) int {
	if n, ok := m.next[tok]; ok {
		return n
	}
	return -1
}

// Text is a chain's reply as generated (pieces joined, ▁ as space).
func (m *Model) Text(chain int) string {
	var b strings.Builder
	ids := m.Chains[chain]
	for _, id := range ids[1 : len(ids)-1] {
		b.WriteString(strings.ReplaceAll(m.Tokens[id], "▁", " "))
	}
	return b.String()
}

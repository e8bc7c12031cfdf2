package instruct

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/retinalgpt/retinalgpt/internal/assistant/llm/ollamatest"
	"github.com/retinalgpt/retinalgpt/internal/assistant/llm/tinygguf"
)

// recorder is a Rewriter that keeps every request and answers "Put
// simply: " + the answer.
type recorder struct {
	mu   sync.Mutex
	reqs []string // rewriteRequest texts, in no particular order
}

func (r *recorder) Rewrite(_ context.Context, q, a string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, rewriteRequest(q, a))
	return "Put simply: " + a, nil
}

// scriptedModel creates, on the running Ollama, a tiny model (tinygguf)
// that answers each of the requests with its reply: the template compares
// the last user message with each request and ends the prompt with that
// request's marker; any other prompt gets a reply without numbers (which
// the number check then rejects, so a mismatch shows in the test).
func scriptedModel(t *testing.T, srv *ollamatest.Server, name string, replies map[string]string) {
	t.Helper()
	const unknown = "No script for this prompt."
	chains := []tinygguf.Chain{{Marker: "<|unknown|>", Reply: unknown}}
	var tmpl strings.Builder
	tmpl.WriteString(`{{- $u := "" }}{{- range .Messages }}{{ if eq .Role "user" }}{{ $u = .Content }}{{ end }}[{{ .Role }}]{{ .Content }}
{{ end }}{{- if false }}`)
	var vocab strings.Builder
	vocab.WriteString(RewritePrompt)
	i := 0
	for req, reply := range replies {
		marker := fmt.Sprintf("<|r%d|>", i)
		i++
		chains = append(chains, tinygguf.Chain{Marker: marker, Reply: reply})
		fmt.Fprintf(&tmpl, "{{- else if eq $u %s }}%s", strconv.Quote(req), marker)
		vocab.WriteString(" " + req)
	}
	tmpl.WriteString(`{{- else }}<|unknown|>{{- end }}`)
	path := filepath.Join(t.TempDir(), name+".gguf")
	if err := tinygguf.WriteFileVocab(path, chains, vocab.String()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
	if err := srv.Client.CreateBlob(ctx, digest, bytes.NewReader(b)); err != nil {
		t.Fatalf("upload %s: %v\n%s", name, err, srv.Log())
	}
	stream := false
	err = srv.Client.Create(ctx, &api.CreateRequest{Model: name, Stream: &stream,
		Files: map[string]string{name + ".gguf": digest}, Template: tmpl.String(),
		Parameters: map[string]any{"num_ctx": 8192, "top_k": 1, "num_thread": 1}},
		func(api.ProgressResponse) error { return nil })
	if err != nil {
		t.Fatalf("create %s: %v\n%s", name, err, srv.Log())
	}
}

var decimal = regexp.MustCompile(`\b\d+\.\d+\b`)

// The paraphrase pass against a real `ollama serve` (ollamatest; skipped
// without an ollama binary, a failure with RETINALGPT_REQUIRE_OLLAMA=1)
// and scripted tiny models: through Ollama's native API (--rewriter
// ollama) and its OpenAI-compatible /v1 (--rewriter openai). A build of
// one record asks its answers once without a rewriter to learn the
// requests; then the model that keeps every number has every answer
// replaced, and the one that changes a number of one stage-2 answer has
// that sample dropped and listed with the number.
func TestRewriterRealOllama(t *testing.T) {
	srv := ollamatest.Start(t, RewritePrompt)
	root := driveTree(t, 2) // one photo (and one corrupt file)
	rep := sampleReport(t)
	var calls atomic.Int64

	rec := &recorder{}
	cfg := baseConfig(t, root, t.TempDir(), fakeAnalyze(rep, &calls, 0))
	cfg.Rewriter, cfg.RewriterName = rec, "recorder"
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if len(rec.reqs) < 4 {
		t.Fatalf("%d rewrite requests, want a stage-1 and 3 or more stage-2 answers", len(rec.reqs))
	}
	keep := map[string]string{}
	change := map[string]string{}
	changed, want := "", ""
	for _, req := range rec.reqs {
		q, a, _ := strings.Cut(strings.TrimPrefix(req, "Question: "), "\n\nAnswer to rewrite: ")
		keep[req] = "Put simply: " + a
		change[req] = keep[req]
		stage1 := slices.Contains(stage1Prompts, q)
		if n := decimal.FindString(a); changed == "" && n != "" && !stage1 && strings.Count(a, n) == 1 {
			// One stage-2 answer gets one number wrong in its last digit.
			last := n[len(n)-1]
			wrong := n[:len(n)-1] + string('0'+(last-'0'+1)%10)
			change[req] = "Put simply: " + strings.Replace(a, n, wrong, 1)
			changed, want = req, "lost "+numberKeys(n)[0]+", added "+numberKeys(wrong)[0]
		}
	}
	if changed == "" {
		t.Fatalf("no answer with a decimal number to change among %q", rec.reqs)
	}
	scriptedModel(t, srv, "rewriter-keep", keep)
	scriptedModel(t, srv, "rewriter-change", change)

	for _, c := range []struct {
		name, model string
		openai      bool
		kept        bool
	}{
		{"ollama keeps numbers", "rewriter-keep", false, true},
		{"ollama changes a number", "rewriter-change", false, false},
		{"openai via /v1 keeps numbers", "rewriter-keep", true, true},
		{"openai via /v1 changes a number", "rewriter-change", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rw Rewriter
			var err error
			if c.openai {
				rw, err = NewOpenAIRewriter(srv.URL+"/v1", c.model, "")
			} else {
				rw, err = NewOllamaRewriter(srv.URL, c.model, "")
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg := baseConfig(t, root, t.TempDir(), fakeAnalyze(rep, &calls, 0))
			cfg.Rewriter, cfg.RewriterName = rw, c.name
			m, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if m.Rewriter == nil || m.Rewriter.Rewritten != len(rec.reqs) || len(m.Failures) != 1 {
				t.Fatalf("rewriter %+v, failures %+v, want %d answers rewritten and the corrupt file failed\nollama log:\n%s",
					m.Rewriter, m.Failures, len(rec.reqs), lastLines(srv.Log(), 30))
			}
			var s1, s2 []Sample
			for _, f := range []string{Stage1File, Stage1ValFile, Stage1TestFile} {
				var ss []Sample
				readJSONFile(t, filepath.Join(cfg.Out, f), &ss)
				s1 = append(s1, ss...)
			}
			for _, f := range []string{Stage2File, Stage2ValFile, Stage2TestFile} {
				var ss []Sample
				readJSONFile(t, filepath.Join(cfg.Out, f), &ss)
				s2 = append(s2, ss...)
			}
			all := append(append([]Sample{}, s1...), s2...)
			for _, s := range all {
				for i := 1; i < len(s.Conversations); i += 2 {
					if !strings.HasPrefix(s.Conversations[i].Value, "Put simply: ") {
						t.Errorf("%s: answer %d not rewritten: %q", s.ID, i/2+1, s.Conversations[i].Value)
					}
				}
			}
			if c.kept {
				if m.Rewriter.Dropped != 0 || len(s1) != 1 || len(s2) != 1 {
					t.Errorf("dropped %v; %d stage-1 and %d stage-2 samples, want none dropped, 1 and 1", m.Rewriter.DroppedSamples, len(s1), len(s2))
				}
			} else {
				if m.Rewriter.Dropped != 1 || len(s1) != 1 || len(s2) != 0 ||
					!strings.HasPrefix(m.Rewriter.DroppedSamples[0], "drive/21_training stage2: answer ") ||
					!strings.HasSuffix(m.Rewriter.DroppedSamples[0], want) {
					t.Errorf("dropped %q; %d stage-1 and %d stage-2 samples; want the stage-2 sample dropped for %q",
						m.Rewriter.DroppedSamples, len(s1), len(s2), want)
				}
			}
			validateLLaVA(t, cfg.Out)
		})
	}
}

// lastLines is the end of a log, for failure messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

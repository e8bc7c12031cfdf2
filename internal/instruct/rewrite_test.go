package instruct

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// paraphraser is a fake OpenAI-compatible chat-completions server that
// rewrites the answer it is given with change.
func paraphraser(t *testing.T, change func(string) string) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 || req.Model != "fake-model" {
			http.Error(w, "bad request", 400)
			return
		}
		calls.Add(1)
		user, _ := req.Messages[1].Content.(string)
		_, answer, ok := strings.Cut(user, "Answer to rewrite: ")
		if !ok {
			http.Error(w, "no answer", 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "x", "object": "chat.completion", "created": 1, "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": change(answer)}}},
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

var firstNumber = regexp.MustCompile(`\d+\.\d+`)

// TestRewriter: a paraphrase that keeps the numbers replaces the answers;
// one that changes a number has its sample dropped and counted.
func TestRewriter(t *testing.T) {
	root := driveTree(t, 3)
	rep := sampleReport(t)
	for _, c := range []struct {
		name   string
		change func(string) string
		kept   bool
	}{
		{"keeps numbers", func(a string) string { return "Put simply: " + a }, true},
		{"changes a number", func(a string) string {
			// 0.0642 → 0.0643: one digit off, as a sloppy paraphrase would.
			return "Put simply: " + firstNumber.ReplaceAllStringFunc(a, func(s string) string { return s + "7" })
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, calls := paraphraser(t, c.change)
			rw, err := NewOpenAIRewriter(srv.URL, "fake-model", "")
			if err != nil {
				t.Fatal(err)
			}
			var n atomic.Int64
			cfg := baseConfig(t, root, t.TempDir(), fakeAnalyze(rep, &n, 0))
			cfg.Rewriter, cfg.RewriterName = rw, "fake"
			m, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if m.Rewriter == nil || m.Rewriter.Rewritten == 0 || int64(m.Rewriter.Rewritten) != calls.Load() {
				t.Fatalf("rewriter counts %+v, %d calls, failures %+v", m.Rewriter, calls.Load(), m.Failures)
			}
			var all []Sample
			for _, f := range []string{Stage1File, Stage2File, Stage1ValFile, Stage2ValFile, Stage1TestFile, Stage2TestFile} {
				var ss []Sample
				readJSONFile(t, cfg.Out+"/"+f, &ss)
				all = append(all, ss...)
			}
			if c.kept {
				if m.Rewriter.Dropped != 0 || len(all) != 4 {
					t.Errorf("dropped %d (%v), %d samples, want 0 and 4", m.Rewriter.Dropped, m.Rewriter.DroppedSamples, len(all))
				}
				for _, s := range all {
					for i := 1; i < len(s.Conversations); i += 2 {
						if !strings.HasPrefix(s.Conversations[i].Value, "Put simply: ") {
							t.Errorf("%s: answer not rewritten: %q", s.ID, s.Conversations[i].Value)
						}
					}
				}
			} else {
				if m.Rewriter.Dropped != 4 || len(all) != 0 || !regexp.MustCompile(`: answer \d+ lost [\d. ]+, added [\d. ]*7`).MatchString(m.Rewriter.DroppedSamples[0]) {
					t.Errorf("dropped %d %v, %d samples left; want all 4 dropped", m.Rewriter.Dropped, m.Rewriter.DroppedSamples, len(all))
				}
			}
			validateLLaVA(t, cfg.Out)
		})
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// rewriterFunc adapts a function to Rewriter.
type rewriterFunc func(q, a string) string

func (f rewriterFunc) Rewrite(_ context.Context, q, a string) (string, error) { return f(q, a), nil }

// A paraphrase must carry exactly the answer's numbers: one changed,
// added or dropped drops the sample, with the reason listed.
func TestRewriteEntry(t *testing.T) {
	const answer = "The vessel density is 0.0642 (6.42% of the field), 12.5 µm and 12.5 µm."
	sample := func() *Sample {
		return &Sample{ID: "x/1", Image: "x/1.png", Conversations: []Message{
			{FromHuman, ImageToken + "\nWhat is the vessel density?"}, {FromGPT, answer},
			{FromHuman, "Is this a fundus photo?"}, {FromGPT, "Yes."},
		}}
	}
	for _, c := range []struct {
		name    string
		para    string // the first answer's paraphrase
		dropped string // "" when kept
	}{
		{"same numbers", "In short: density 0.0642, i.e. 6.42%, both calibres 12.5 µm and 12.5 µm.", ""},
		{"trailing zero", "In short: density 0.06420 (6.42%), 12.5 µm and 12.50 µm.", ""},
		{"changed", "In short: density 0.0643 (6.42%), 12.5 µm and 12.5 µm.", "answer 1 lost 0.0642, added 0.0643"},
		{"added", "In short: density 0.0642 (6.42%), 12.5 µm and 12.5 µm; usual is 0.05.", "answer 1 added 0.05"},
		{"dropped", "In short: density 0.0642 (6.42%), 12.5 µm both.", "answer 1 lost 12.5"},
		{"percentage as a fraction", "In short: density 0.0642 (0.0642 of the field), 12.5 µm and 12.5 µm.", "answer 1 lost 6.42%, added 0.0642"},
		{"image token", "In short: " + ImageToken + " density 0.0642 (6.42%), 12.5 µm and 12.5 µm.", "answer 1 added " + ImageToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			rw := rewriterFunc(func(q, a string) string {
				if a == answer {
					return c.para
				}
				return "Yes, it is."
			})
			e := &Entry{Stage1: sample(), Stage2: sample()}
			if err := rewriteEntry(context.Background(), rw, e); err != nil {
				t.Fatal(err)
			}
			if e.Rewrite.Answers != 4 {
				t.Errorf("%d answers rewritten, want 4", e.Rewrite.Answers)
			}
			if c.dropped == "" {
				if e.Stage1 == nil || e.Stage2 == nil || len(e.Rewrite.Dropped) != 0 {
					t.Fatalf("dropped %v", e.Rewrite.Dropped)
				}
				if got := e.Stage2.Conversations[1].Value; got != c.para {
					t.Errorf("answer %q, want the paraphrase", got)
				}
				return
			}
			want := []string{"stage1: " + c.dropped, "stage2: " + c.dropped}
			if e.Stage1 != nil || e.Stage2 != nil || !reflect.DeepEqual(e.Rewrite.Dropped, want) {
				t.Errorf("dropped %q, want %q", e.Rewrite.Dropped, want)
			}
		})
	}
}

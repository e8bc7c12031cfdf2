package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/assistant/llm/ollamatest"
)

// recorder keeps the JSON bodies of the requests an engine sends.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) last() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var m map[string]any
	json.Unmarshal(r.bodies[len(r.bodies)-1], &m)
	return m
}

// The LLM engines against a real `ollama serve` and the tiny scripted
// model (ollamatest): Ollama's native API through its Go client, and its
// OpenAI-compatible /v1 endpoint through openai-go, both streamed.
func TestRealOllama(t *testing.T) {
	ctx := context.Background()
	probe, err := New(Config{Provider: Ollama, Model: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	findings, _ := probe.findings(ctx, loadDoc(t))
	srv := ollamatest.Start(t, SystemPrompt, findings)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format+"\nollama log:\n%s", append(args, lastLines(srv.Log(), 30))...)
	}

	t.Run("native streamed reply", func(t *testing.T) {
		var chunks []string
		stream := true
		err := srv.Client.Chat(ctx, &api.ChatRequest{Model: srv.Model, Stream: &stream,
			Messages: []api.Message{{Role: "user", Content: "hi"}}}, func(r api.ChatResponse) error {
			if r.Message.Content != "" {
				chunks = append(chunks, r.Message.Content)
			}
			return nil
		})
		if err != nil || strings.Join(chunks, "") != ollamatest.HelloReply || len(chunks) < 3 {
			fail("chunks %q, err %v", chunks, err)
		}
	})

	newEngine := func(p Provider, url string) (*Engine, *recorder) {
		rec := &recorder{}
		e, err := New(Config{Provider: p, URL: url, Model: srv.Model, Client: &http.Client{Transport: rec}})
		if err != nil {
			t.Fatal(err)
		}
		return e, rec
	}
	ask := func(e *Engine, s *assistant.Session, q string) (assistant.Answer, string) {
		t.Helper()
		s.Conv.Turns = append(s.Conv.Turns, assistant.Turn{Role: assistant.User, Text: q})
		var streamed strings.Builder
		a, err := e.RespondStream(ctx, &s.Conv, s.Doc, func(x string) { streamed.WriteString(x) })
		if err != nil {
			fail("%q: %v", q, err)
			return a, ""
		}
		s.Conv.Turns = append(s.Conv.Turns, assistant.Turn{Role: assistant.Assistant, Text: a.Text, Answer: &a})
		return a, streamed.String()
	}
	for _, tc := range []struct {
		name     string
		provider Provider
		url      string
	}{
		{"ollama engine", Ollama, srv.URL},
		{"openai engine via /v1", OpenAI, srv.URL + "/v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, rec := newEngine(tc.provider, tc.url)
			s := &assistant.Session{Engine: e, Doc: loadDoc(t)}

			// A plain streamed reply (tools offered, none called).
			a, streamed := ask(e, s, ollamatest.Hello)
			if a.Text != ollamatest.HelloReply || streamed != a.Text || a.Engine != tc.provider.String() {
				fail("hello: %+v (streamed %q)", a, streamed)
			}

			// A tool call parsed by Ollama from the model's output, run
			// here, and the turn after the tool result.
			a, streamed = ask(e, s, "what is the cup-to-disc ratio?")
			if a.Text != ollamatest.Answer || streamed != ollamatest.Answer || len(a.Ungrounded) != 0 ||
				len(a.Grounded) != 1 || a.Grounded[0].Path != "disc.cdr.vertical" {
				fail("tool round trip: %+v (streamed %q)", a, streamed)
			}
			body := rec.last()
			msgs, _ := body["messages"].([]any)
			if len(msgs) < 3 {
				fail("second request: %v", body)
			} else {
				call, _ := msgs[len(msgs)-2].(map[string]any)
				res, _ := msgs[len(msgs)-1].(map[string]any)
				if call["role"] != "assistant" || !strings.Contains(mustJSON(call["tool_calls"]), `"lookup"`) ||
					res["role"] != "tool" || !strings.Contains(res["content"].(string), `"value":0.359`) {
					fail("tool call and result: %v / %v", call, res)
				}
			}
			if _, ok := body["tools"]; !ok {
				fail("no tools in the request: %v", body)
			}

			// A number no tool returned is flagged.
			a, _ = ask(e, s, ollamatest.Invent)
			if a.Text != ollamatest.InventReply || strings.Join(a.Ungrounded, ",") != "0.82" {
				fail("grounding: %+v", a)
			}

			// Not streamed (ask --json, the server): the same answer
			// (Ollama's client always streams; openai-go can do both).
			if tc.provider != OpenAI {
				return
			}
			s.Conv.Turns = append(s.Conv.Turns, assistant.Turn{Role: assistant.User, Text: "and the CDR again?"})
			a, err := e.Respond(ctx, &s.Conv, s.Doc)
			if err != nil || a.Text != ollamatest.Answer || len(a.Grounded) != 1 {
				fail("unstreamed: %+v %v", a, err)
			}
		})
	}

	t.Run("unknown model", func(t *testing.T) {
		e, err := New(Config{Provider: Ollama, URL: srv.URL, Model: "no-such-model"})
		if err != nil {
			t.Fatal(err)
		}
		s := &assistant.Session{Engine: e, Doc: loadDoc(t)}
		if _, err := s.Ask(ctx, "hello"); err == nil || !strings.Contains(err.Error(), "ollama pull no-such-model") {
			t.Errorf("unknown model: %v", err)
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/assistant/llm"
	"github.com/retinalgpt/retinalgpt/internal/assistant/llm/ollamatest"
)

const futureReport = "../../internal/assistant/testdata/future_report.json"

// fakeLLM is a scripted OpenAI-compatible server: the first request of
// each turn gets a lookup(cdr) tool call, the second the scripted answer.
func fakeLLM(t *testing.T, answer string, status int) (url string, auth func() []string) {
	t.Helper()
	var mu sync.Mutex
	var n int
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := n
		n++
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		if status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(`{"error":{"message":"model overloaded"}}`))
			return
		}
		var req struct {
			Stream bool `json:"stream"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		delta := map[string]any{"role": "assistant", "content": answer}
		if i%2 == 0 {
			delta = map[string]any{"role": "assistant", "content": "", "tool_calls": []any{map[string]any{"index": 0, "id": "c1", "type": "function",
				"function": map[string]any{"name": "lookup", "arguments": `{"measure":"cdr"}`}}}}
		}
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
			b, _ := json.Marshal(map[string]any{"id": "x", "object": "chat.completion.chunk", "model": "fake",
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": "stop"}}})
			fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", b)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": delta}}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1", func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), auths...) }
}

func TestAskEngineOpenAI(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("RETINALGPT_LLM_KEY", "sk-test-secret")
	url, auth := fakeLLM(t, "The vertical cup-to-disc ratio is 0.359.", 0)
	stdout, stderr, code := run(t, "ask", "--report", futureReport, "--engine", "openai", "--llm-url", url, "--llm-model", "fake", "--json", "what is the CDR?")
	var a struct {
		Answer     string   `json:"answer"`
		Engine     string   `json:"engine"`
		Ungrounded []string `json:"ungrounded"`
		Grounded   []struct {
			Path string `json:"path"`
		} `json:"grounded"`
	}
	if err := json.Unmarshal([]byte(stdout), &a); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s%s", code, err, stdout, stderr)
	}
	if a.Engine != "openai" || len(a.Ungrounded) != 0 || len(a.Grounded) != 1 || a.Grounded[0].Path != "disc.cdr.vertical" {
		t.Errorf("%+v", a)
	}
	if got := auth(); len(got) != 2 || got[0] != "Bearer sk-test-secret" {
		t.Errorf("auth %q", got)
	}
	if strings.Contains(stdout+stderr, "sk-test-secret") {
		t.Error("API key printed")
	}
}

func TestAskEngineUngrounded(t *testing.T) {
	url, _ := fakeLLM(t, "The vertical cup-to-disc ratio is 0.82.", 0)
	args := []string{"ask", "--report", futureReport, "--engine", "openai", "--llm-url", url, "--llm-model", "fake", "what is the CDR?"}
	stdout, stderr, code := run(t, args...)
	if code != 0 || !strings.Contains(stdout, "0.82") || !strings.Contains(stderr, "warning: not found in the analysis") || !strings.Contains(stderr, "0.82") {
		t.Errorf("exit %d:\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = run(t, append(args, "--strict-grounding")...)
	if code != 0 || strings.Contains(stdout, "0.82") || !strings.Contains(stdout, "0.359") || !strings.Contains(stderr, "note:") {
		t.Errorf("strict: exit %d:\n%s%s", code, stdout, stderr)
	}
}

func TestAskEngineErrors(t *testing.T) {
	url, _ := fakeLLM(t, "", http.StatusServiceUnavailable)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--engine", "openai", "--llm-url", url, "--llm-model", "fake"}, exitFailure, "503"},
		{[]string{"--engine", "openai", "--base-url", url, "--model", "fake"}, exitFailure, "503"},
		{[]string{"--engine", "openai", "--llm-model", "fake"}, exitUsage, "--base-url"},
		{[]string{"--engine", "ollama"}, exitUsage, "--model"},
		{[]string{"--engine", "gpt"}, exitUsage, "unknown LLM engine"},
		{[]string{"--llm-model", "x"}, exitUsage, "need --engine"},
		{[]string{"--model", "x"}, exitUsage, "need --engine"},
		{[]string{"--vision"}, exitUsage, "need --engine"},
		{[]string{"--engine", "ollama", "--model", "x", "--vision"}, exitUsage, "--vision sends the photograph"},
	}
	for _, tt := range tests {
		args := append([]string{"ask", "--report", futureReport}, tt.args...)
		stdout, stderr, code := run(t, append(args, "what is the CDR?")...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s%s", tt.args, code, tt.code, tt.want, stdout, stderr)
		}
	}
}

// chat keeps going when the engine fails, answering with the built-in
// responder and saying so.
func TestChatEngineFailureFallsBack(t *testing.T) {
	url, _ := fakeLLM(t, "", http.StatusInternalServerError)
	stdout, stderr, code := runIn(t, "what is the CDR?\nand the vessel density?\n", "chat", "--report", futureReport, "--engine", "openai", "--llm-url", url, "--llm-model", "fake")
	if code != 0 || strings.Count(stdout, "engine failed") != 2 || !strings.Contains(stdout, "0.359") {
		t.Errorf("exit %d:\n%s%s", code, stdout, stderr)
	}
}

// ask and chat with a real `ollama serve` and the tiny scripted model
// (internal/assistant/llm/ollamatest): Ollama's own API, and its /v1
// endpoint as an OpenAI-compatible server; skipped without an ollama
// binary unless RETINALGPT_REQUIRE_OLLAMA=1.
func TestEnginesRealOllama(t *testing.T) {
	b, err := os.ReadFile(futureReport)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := assistant.ParseDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	overview, err := assistant.NewBuiltin(nil).Respond(context.Background(), &assistant.Conversation{Turns: []assistant.Turn{{Role: assistant.User, Text: "give me a summary"}}}, doc)
	if err != nil {
		t.Fatal(err)
	}
	srv := ollamatest.Start(t, llm.SystemPrompt, overview.Text)
	base := []string{"--report", futureReport, "--model", srv.Model}
	stdout, stderr, code := run(t, append(append([]string{"ask"}, base...), "--engine", "ollama", "--base-url", srv.URL, "what is the CDR?")...)
	if code != 0 || strings.TrimSpace(stdout) != ollamatest.Answer || strings.Contains(stderr, "warning") {
		t.Errorf("ask ollama: exit %d:\n%s%s\n%s", code, stdout, stderr, srv.Log())
	}
	stdout, stderr, code = run(t, append(append([]string{"ask"}, base...), "--engine", "ollama", "--base-url", srv.URL, "--json", "what is the CDR?")...)
	var a struct {
		Engine   string `json:"engine"`
		Grounded []struct {
			Path string `json:"path"`
		} `json:"grounded"`
	}
	if err := json.Unmarshal([]byte(stdout), &a); err != nil || code != 0 || a.Engine != "ollama" || len(a.Grounded) != 1 || a.Grounded[0].Path != "disc.cdr.vertical" {
		t.Errorf("ask --json: exit %d, %v:\n%s%s", code, err, stdout, stderr)
	}
	in := ollamatest.Hello + "\nwhat is the CDR?\n" + ollamatest.Invent + "\n"
	stdout, stderr, code = runIn(t, in, append(append([]string{"chat"}, base...), "--engine", "openai", "--base-url", srv.URL+"/v1")...)
	for _, want := range []string{ollamatest.HelloReply, ollamatest.Answer, ollamatest.InventReply, "warning: not found in the analysis, check before trusting: 0.82"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("chat via /v1 lacks %q (exit %d):\n%s%s", want, code, stdout, stderr)
		}
	}
	if strings.Count(stdout, ollamatest.Answer) != 1 {
		t.Errorf("a streamed answer printed twice:\n%s", stdout)
	}
}

// --vision sends the analysed photo (a JPEG of at most 1024 px) with the
// question.
func TestAskVisionSendsPhoto(t *testing.T) {
	requireORT(t)
	var mu sync.Mutex
	var images []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct {
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		for _, m := range req.Messages {
			var parts []struct {
				ImageURL struct {
					URL string `json:"url"`
				} `json:"image_url"`
			}
			if json.Unmarshal(m.Content, &parts) == nil {
				for _, p := range parts {
					if p.ImageURL.URL != "" {
						images = append(images, p.ImageURL.URL)
					}
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": "A fundus photo."}}}})
	}))
	defer srv.Close()
	stdout, stderr, code := run(t, "ask", "--threads", "2", "--engine", "openai", "--base-url", srv.URL+"/v1", "--model", "vl", "--vision", "--json", "describe it")
	if code != 0 || len(images) != 1 || !strings.HasPrefix(images[0], "data:image/jpeg;base64,") {
		t.Fatalf("exit %d, %d images:\n%s%s", code, len(images), stdout, stderr)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(images[0], "data:image/jpeg;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil || max(cfg.Width, cfg.Height) != 1024 {
		t.Errorf("sent image %dx%d, %v", cfg.Width, cfg.Height, err)
	}
}

// A photo that is not a colour fundus photograph is refused before the
// engine is called: nothing is sent to the LLM server.
func TestEngineNotCalledForNonFundus(t *testing.T) {
	requireORT(t)
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		http.Error(w, "should not be called", http.StatusTeapot)
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "redfree.png")
	writePNG(t, path, greySample(t))
	for _, cmd := range [][]string{
		{"ask", path, "what is the CDR?", "--vision"},
		{"chat", path},
	} {
		_, stderr, code := runIn(t, "what is the CDR?\n", append(cmd, "--threads", "2", "--engine", "openai", "--base-url", srv.URL+"/v1", "--model", "m")...)
		if code != exitNotFundus {
			t.Errorf("%v: exit %d, want %d: %s", cmd, code, exitNotFundus, stderr)
		}
	}
	if calls != 0 {
		t.Errorf("the LLM server got %d requests", calls)
	}
}

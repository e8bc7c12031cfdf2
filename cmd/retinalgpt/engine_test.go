package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
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
			w.WriteHeader(status)
			w.Write([]byte(`{"error":{"message":"model overloaded"}}`))
			return
		}
		var msg any = map[string]any{"role": "assistant", "content": answer}
		if i%2 == 0 {
			msg = map[string]any{"role": "assistant", "content": "", "tool_calls": []any{map[string]any{"id": "c1", "type": "function",
				"function": map[string]any{"name": "lookup", "arguments": `{"measure":"cdr"}`}}}}
		}
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": msg}}})
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
		{[]string{"--engine", "openai", "--llm-model", "fake"}, exitUsage, "--llm-url"},
		{[]string{"--engine", "ollama"}, exitUsage, "--llm-model"},
		{[]string{"--engine", "gpt"}, exitUsage, "unknown LLM engine"},
		{[]string{"--llm-model", "x"}, exitUsage, "need --engine"},
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

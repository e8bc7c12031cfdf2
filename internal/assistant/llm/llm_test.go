package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
)

// fake is a scripted OpenAI-compatible chat-completions server: reply
// gets each request (decoded) and its number, and returns the message.
type fake struct {
	mu    sync.Mutex
	reqs  []request
	auth  []string
	reply func(n int, r request) any
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		http.Error(w, "not found: "+r.URL.Path, http.StatusNotFound)
		return
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, req)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	out := f.reply(n, req)
	if code, ok := out.(int); ok {
		w.WriteHeader(code)
		w.Write([]byte(`{"error":{"message":"scripted failure"}}`))
		return
	}
	json.NewEncoder(w).Encode(out)
}

func text(s string) any {
	return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": s}, "finish_reason": "stop"}}}
}

func calls(name, args string) any {
	return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": "",
		"tool_calls": []any{map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": name, "arguments": args}}}}}}}
}

func loadDoc(t *testing.T) *assistant.Document {
	t.Helper()
	b, err := os.ReadFile("../testdata/future_report.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := assistant.ParseDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func start(t *testing.T, reply func(int, request) any, cfg Config) (*fake, *assistant.Session) {
	t.Helper()
	f := &fake{reply: reply}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	if cfg.Provider == 0 {
		cfg.Provider = OpenAI
	}
	cfg.URL, cfg.Model = srv.URL+"/v1", "fake"
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, &assistant.Session{Engine: e, Doc: loadDoc(t)}
}

// cdrThenAnswer asks for the CDR, then answers with answer.
func cdrThenAnswer(answer string) func(int, request) any {
	return func(n int, r request) any {
		if n%2 == 0 {
			return calls("lookup", `{"measure":"cdr"}`)
		}
		return text(answer)
	}
}

func TestToolRoundTripGrounded(t *testing.T) {
	f, s := start(t, cdrThenAnswer("The vertical cup-to-disc ratio is 0.359 (about 0.36), unitless."), Config{APIKey: "sk-secret-123"})
	a, err := s.Ask(context.Background(), "what is the CDR?")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Ungrounded) != 0 || a.Engine != "openai" {
		t.Errorf("answer %+v", a)
	}
	if len(a.Grounded) == 0 || a.Grounded[0].Path != "disc.cdr.vertical" || a.Grounded[0].Value != 0.359 {
		t.Errorf("grounded %+v", a.Grounded)
	}
	if len(f.reqs) != 2 {
		t.Fatalf("%d requests", len(f.reqs))
	}
	second := f.reqs[1].Messages
	last := second[len(second)-1]
	if last.Role != "tool" || last.ToolCallID != "call_1" || !strings.Contains(last.Content, `"value":0.359`) {
		t.Errorf("tool result %+v", last)
	}
	if second[0].Role != "system" || strings.Contains(second[0].Content, "idrid_055") {
		t.Errorf("system prompt holds report text: %q", second[0].Content)
	}
	for _, h := range f.auth {
		if h != "Bearer sk-secret-123" {
			t.Errorf("Authorization %q", h)
		}
	}
	if len(f.reqs[0].Tools) != 3 {
		t.Errorf("tools %+v", f.reqs[0].Tools)
	}
}

func TestGroundingCheck(t *testing.T) {
	tests := []struct {
		answer string
		flag   []string
	}{
		{"The vertical CDR is 0.82.", []string{"0.82"}},
		{"The vertical CDR is 0.36; a CDR above 0.7 is rare in normal eyes.", nil},
		// the disc height is in the Report, but no tool returned it this turn
		{"The CDR is 0.359 and the disc is 131 px tall, about 1,500 µm.", []string{"131", "1,500"}},
	}
	for _, tt := range tests {
		_, s := start(t, cdrThenAnswer(tt.answer), Config{})
		s.Doc = loadDoc(t)
		a, err := s.Ask(context.Background(), "what is the CDR?")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(a.Ungrounded, ",") != strings.Join(tt.flag, ",") {
			t.Errorf("%q: ungrounded %q, want %q", tt.answer, a.Ungrounded, tt.flag)
		}
	}
}

func TestSectionAndExplainTools(t *testing.T) {
	_, s := start(t, func(n int, r request) any {
		switch n {
		case 0:
			return calls("get_report_section", `{"section":"disc.cdr"}`)
		case 1:
			return calls("explain", `{"term":"tortuosity"}`)
		}
		return text("Horizontal CDR 0.333, area CDR 0.119.")
	}, Config{})
	a, err := s.Ask(context.Background(), "cdr?")
	if err != nil || len(a.Ungrounded) != 0 || len(a.Grounded) != 2 {
		t.Errorf("%+v %v", a, err)
	}
}

func TestMultiTurnHistory(t *testing.T) {
	f, s := start(t, cdrThenAnswer("It is 0.359."), Config{})
	for _, q := range []string{"what is the CDR?", "is that bad?"} {
		if _, err := s.Ask(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	msgs := f.reqs[2].Messages
	var roles []string
	for _, m := range msgs {
		roles = append(roles, m.Role+":"+m.Content)
	}
	want := []string{"user:what is the CDR?", "assistant:It is 0.359.", "user:is that bad?"}
	if got := strings.Join(roles[1:], "|"); got != strings.Join(want, "|") {
		t.Errorf("history %q", got)
	}
}

func TestErrors(t *testing.T) {
	bad := func(int, request) any { return http.StatusInternalServerError }
	unauth := func(int, request) any { return http.StatusUnauthorized }
	loop := func(int, request) any { return calls("lookup", `{"measure":"cdr"}`) }
	noID := func(int, request) any {
		return map[string]any{"choices": []any{map[string]any{"message": map[string]any{"tool_calls": []any{map[string]any{"function": map[string]any{"name": "lookup"}}}}}}}
	}
	empty := func(int, request) any { return map[string]any{"choices": []any{}} }
	slow := func(int, request) any { time.Sleep(300 * time.Millisecond); return text("late") }
	tests := []struct {
		reply func(int, request) any
		cfg   Config
		want  error
		text  string
	}{
		{bad, Config{}, ErrHTTP, "500"},
		{unauth, Config{APIKey: "sk-secret-123"}, ErrHTTP, "RETINALGPT_LLM_KEY"},
		{loop, Config{MaxToolRounds: 2}, ErrToolRounds, "2 rounds"},
		{noID, Config{}, ErrMalformed, "without an id"},
		{empty, Config{}, ErrMalformed, "no choices"},
		{slow, Config{Timeout: 50 * time.Millisecond}, ErrTimeout, "within 50ms"},
	}
	for _, tt := range tests {
		f, s := start(t, tt.reply, tt.cfg)
		_, err := s.Ask(context.Background(), "what is the CDR?")
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) || strings.Contains(err.Error(), "sk-secret") || strings.Contains(err.Error(), "\n") {
			t.Errorf("error %v, want %v with %q", err, tt.want, tt.text)
		}
		if len(s.Conv.Turns) != 0 {
			t.Errorf("failed turn kept: %+v", s.Conv.Turns)
		}
		if tt.want == ErrToolRounds && (len(f.reqs) != 3 || f.reqs[2].ToolChoice != "none") {
			t.Errorf("tool-round cap: %d requests", len(f.reqs))
		}
	}
	// Unreachable: a closed port.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	e, err := New(Config{Provider: Ollama, URL: url, Model: "llama3.1"})
	if err != nil {
		t.Fatal(err)
	}
	s := &assistant.Session{Engine: e, Doc: loadDoc(t)}
	if _, err := s.Ask(context.Background(), "hi"); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "ollama serve") {
		t.Errorf("unreachable: %v", err)
	}
}

func TestMalformedToolArgumentsAreFedBack(t *testing.T) {
	f, s := start(t, func(n int, r request) any {
		switch n {
		case 0:
			return calls("lookup", `{not json`)
		case 1:
			return calls("bogus", `{}`)
		}
		return text("I could not look it up.")
	}, Config{})
	if _, err := s.Ask(context.Background(), "cdr?"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"not a JSON object", "unknown tool"} {
		m := f.reqs[i+1].Messages
		if c := m[len(m)-1].Content; !strings.Contains(c, want) {
			t.Errorf("tool result %q lacks %q", c, want)
		}
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{{Provider: OpenAI, Model: "m"}, {Provider: Ollama}, {}, {Provider: OpenAI, URL: "ftp://x", Model: "m"}} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	e, err := New(Config{Provider: Ollama, Model: "llama3.1"})
	if err != nil || e.endpoint != "http://127.0.0.1:11434/v1/chat/completions" {
		t.Errorf("%v %q", err, e.endpoint)
	}
}

func TestMissingValueReason(t *testing.T) {
	_, s := start(t, func(n int, r request) any {
		if n == 0 {
			return calls("lookup", `{"measure":"crae"}`)
		}
		return text("CRAE is missing.")
	}, Config{})
	b := []byte(`{"schema_version":"1.6.0","disc":{"found":false,"reason":"no bright disc-like region"}}`)
	d, _ := assistant.ParseDocument(b)
	s.Doc = d
	a, err := s.Ask(context.Background(), "crae?")
	if err != nil || len(a.Missing) == 0 || a.Missing[0].Reason == "" {
		t.Errorf("%+v %v", a, err)
	}
}

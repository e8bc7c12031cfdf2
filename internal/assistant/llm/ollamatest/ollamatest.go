// Package ollamatest starts a real Ollama for tests: `ollama serve` on a
// free 127.0.0.1 port with a temporary model store, serving a tiny
// scripted llama model written by tinygguf (no weights are downloaded).
//
// The model's Modelfile TEMPLATE renders the conversation and ends the
// prompt with a marker token that chooses the scripted reply:
//
//   - the last message is a tool result → Answer ("The vertical
//     cup-to-disc ratio is 0.359.", the sample Report's value);
//   - the last user message is exactly Hello → HelloReply;
//   - the last user message is exactly Invent → InventReply (a number no
//     tool returned, for the grounding check);
//   - any other question with tools offered → the tool call
//     <tool_call>{"name":"lookup","arguments":{"measure":"cdr"}}</tool_call>,
//     which Ollama parses as a tool call through the template's .ToolCalls
//     block;
//   - without tools → HelloReply.
//
// The binary: $RETINALGPT_OLLAMA, else `ollama` on PATH, else
// $HOME/.cache/retinalgpt/ollama-0.17.4/bin/ollama (what
// scripts/build-ollama.sh builds). Without one the test is skipped, or
// fails when RETINALGPT_REQUIRE_OLLAMA=1 (CI).
package ollamatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/retinalgpt/retinalgpt/internal/assistant/llm/tinygguf"
)

// The scripted conversation.
const (
	Model       = "retinalgpt-tiny"
	Hello       = "hello"
	HelloReply  = "Hello! Ask me about the photo."
	Invent      = "invent a number"
	InventReply = "The cup-to-disc ratio is 0.82."
	Answer      = "The vertical cup-to-disc ratio is 0.359."
	// ToolArgs is the scripted call's arguments.
	ToolName = "lookup"
	ToolArgs = `{"measure":"cdr"}`
)

// Chains are the tiny model's scripted replies.
var Chains = []tinygguf.Chain{
	{Marker: "<|reply|>", Reply: HelloReply},
	{Marker: "<|invent|>", Reply: InventReply},
	{Marker: "<|call|>", Pieces: []string{"<tool_call>", `{"name":"lookup",`, `"arguments":`, ToolArgs + "}", "</tool_call>"}},
	{Marker: "<|answer|>", Reply: Answer},
}

// Template renders the messages and picks the marker (see the package
// comment). The .ToolCalls block tells Ollama's tool parser that a call
// starts with <tool_call>; .Tools marks the model as tool-capable.
const Template = `{{- range $i, $m := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "system" }}[system]{{ .Content }}
{{ else if eq .Role "user" }}[user]{{ .Content }}
{{ else if eq .Role "assistant" }}[assistant]{{ .Content }}{{ if .ToolCalls }}<tool_call>{{ range .ToolCalls }}{"name":"{{ .Function.Name }}","arguments":{{ .Function.Arguments }}}{{ end }}</tool_call>{{ end }}
{{ else if eq .Role "tool" }}[tool]{{ .Content }}
{{ end }}
{{- if $last }}
{{- if eq .Role "tool" }}<|answer|>
{{- else if eq .Content "` + Hello + `" }}<|reply|>
{{- else if eq .Content "` + Invent + `" }}<|invent|>
{{- else if $.Tools }}<|call|>
{{- else }}<|reply|>
{{- end }}
{{- end }}
{{- end }}`

// Binary finds the ollama binary ("" if none).
func Binary() string {
	if p := os.Getenv("RETINALGPT_OLLAMA"); p != "" {
		return p
	}
	if p, err := exec.LookPath("ollama"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "retinalgpt", "ollama-0.17.4", "bin", "ollama")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// Server is a running `ollama serve` with the tiny model created.
type Server struct {
	URL    string // http://127.0.0.1:PORT
	Model  string
	Client *api.Client
	log    *syncBuffer
}

// Log is the server's output so far (for failure messages).
func (s *Server) Log() string { return s.log.String() }

// Start starts Ollama for the test (stopped at its cleanup), or skips it
// when no binary is found (fails with RETINALGPT_REQUIRE_OLLAMA=1). The
// words of vocab (e.g. the system prompt) become tokens of the tiny model,
// so that prompts made of them are short (tinygguf.PlanVocab).
func Start(t testing.TB, vocab ...string) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		msg := "no ollama binary: set RETINALGPT_OLLAMA, put ollama on PATH, or run scripts/build-ollama.sh"
		if os.Getenv("RETINALGPT_REQUIRE_OLLAMA") == "1" {
			t.Fatal(msg + " (RETINALGPT_REQUIRE_OLLAMA=1)")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"OLLAMA_HOST="+addr,
		"OLLAMA_MODELS="+filepath.Join(dir, "models"),
		"OLLAMA_NO_CLOUD=1",
		"OLLAMA_NUM_PARALLEL=1",
		"OLLAMA_MAX_LOADED_MODELS=1",
		"HOME="+dir, // its key pair goes here, not into the user's ~/.ollama
	)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		// An interrupt lets serve stop its runner child; a plain kill would
		// leave the runner orphaned and holding memory after the test.
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	u := &url.URL{Scheme: "http", Host: addr}
	s := &Server{URL: u.String(), Model: Model, Client: api.NewClient(u, http.DefaultClient), log: logs}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if err := s.Client.Heartbeat(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("ollama serve did not answer on %s:\n%s", addr, tail(logs.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.create(ctx, dir, strings.Join(vocab, " ")); err != nil {
		t.Fatalf("create the tiny model: %v\n%s", err, tail(logs.String()))
	}
	return s
}

func (s *Server) create(ctx context.Context, dir, vocab string) error {
	path := filepath.Join(dir, "tiny.gguf")
	if err := tinygguf.WriteFileVocab(path, Chains, vocab); err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
	if err := s.Client.CreateBlob(ctx, digest, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	stream := false
	err = s.Client.Create(ctx, &api.CreateRequest{
		Model:    Model,
		Stream:   &stream,
		Files:    map[string]string{"tiny.gguf": digest},
		Template: Template,
		// top_k 1: greedy, although the margins make sampling greedy anyway.
		Parameters: map[string]any{"num_ctx": 8192, "top_k": 1, "num_thread": 1},
	}, func(api.ProgressResponse) error { return nil })
	if err != nil {
		return err
	}
	return nil
}

func tail(s string) string {
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

// syncBuffer collects the server's output from its two streams.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

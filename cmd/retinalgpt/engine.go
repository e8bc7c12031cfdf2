package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/assistant/llm"
)

// engineFlags choose who answers: the built-in responder or an LLM.
type engineFlags struct {
	engine  string
	url     string
	model   string
	timeout time.Duration
	strict  bool
}

func (f *engineFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.engine, "engine", "builtin", "who answers: builtin (no network), ollama, or openai (any OpenAI-compatible server)")
	fl.StringVar(&f.url, "llm-url", "", "LLM server base URL (required for openai, e.g. http://127.0.0.1:8000/v1; ollama default "+llm.DefaultOllamaURL+"); the API key comes from OPENAI_API_KEY or RETINALGPT_LLM_KEY")
	fl.StringVar(&f.model, "llm-model", "", "LLM model name (e.g. llama3.1)")
	fl.DurationVar(&f.timeout, "llm-timeout", llm.DefaultTimeout, "time limit for one LLM answer")
	fl.BoolVar(&f.strict, "strict-grounding", false, "when an LLM answer quotes a number the analysis did not return, answer with the built-in responder instead")
}

// build returns the engine (nil for the built-in responder).
func (f *engineFlags) build() (*llm.Engine, error) {
	if f.engine == "" || f.engine == "builtin" {
		if f.url != "" || f.model != "" || f.strict {
			return nil, usageError{fmt.Errorf("--llm-url, --llm-model and --strict-grounding need --engine ollama or openai")}
		}
		return nil, nil
	}
	p, err := llm.ParseProvider(f.engine)
	if err != nil {
		return nil, usageError{err}
	}
	key := os.Getenv("RETINALGPT_LLM_KEY")
	if key == "" {
		key = os.Getenv("OPENAI_API_KEY")
	}
	e, err := llm.New(llm.Config{Provider: p, URL: f.url, Model: f.model, APIKey: key, Timeout: f.timeout})
	if err != nil {
		return nil, usageError{err}
	}
	return e, nil
}

// guarded wraps an LLM engine with the --strict-grounding fallback.
type guarded struct {
	llm    *llm.Engine
	strict bool
	alt    assistant.Engine
}

func (g *guarded) Respond(ctx context.Context, conv *assistant.Conversation, doc *assistant.Document) (assistant.Answer, error) {
	a, err := g.llm.Respond(ctx, conv, doc)
	if err != nil || !g.strict || len(a.Ungrounded) == 0 {
		return a, err
	}
	b, err := g.alt.Respond(ctx, conv, doc)
	if err != nil {
		return a, nil
	}
	b.Engine = "builtin"
	b.Ungrounded = a.Ungrounded
	b.Note = fmt.Sprintf("the %s answer quoted numbers the analysis did not return (%s); this is the built-in responder's answer", g.llm.Name(), strings.Join(a.Ungrounded, ", "))
	return b, nil
}

// newEngine is the session's engine for the flags (nil: built-in).
func (f *engineFlags) newEngine() (assistant.Engine, error) {
	e, err := f.build()
	if err != nil || e == nil {
		return nil, err
	}
	return &guarded{llm: e, strict: f.strict, alt: assistant.NewBuiltin(nil)}, nil
}

// printWarnings writes an answer's grounding warning or fallback note.
func printWarnings(w io.Writer, a assistant.Answer) {
	switch {
	case a.Note != "":
		fmt.Fprintln(w, "note:", a.Note)
	case len(a.Ungrounded) > 0:
		fmt.Fprintf(w, "warning: not found in the analysis, check before trusting: %s\n", strings.Join(a.Ungrounded, ", "))
	}
}

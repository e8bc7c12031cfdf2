package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/image/draw"

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
	vision  bool
}

func (f *engineFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.engine, "engine", "builtin", "who answers: builtin (no network), ollama, or openai (any OpenAI-compatible server)")
	fl.StringVar(&f.url, "base-url", "", "LLM server URL: for openai the API root (required, e.g. http://127.0.0.1:8000/v1); for ollama its address (default "+llm.DefaultOllamaURL+"). The API key comes from RETINALGPT_LLM_KEY or OPENAI_API_KEY")
	fl.StringVar(&f.model, "model", "", "LLM model name (e.g. llama3.1)")
	// The names before the official clients, kept so scripts keep working.
	fl.StringVar(&f.url, "llm-url", "", "same as --base-url")
	fl.StringVar(&f.model, "llm-model", "", "same as --model")
	fl.MarkHidden("llm-url")
	fl.MarkHidden("llm-model")
	fl.DurationVar(&f.timeout, "llm-timeout", llm.DefaultTimeout, "time limit for one LLM answer")
	fl.BoolVar(&f.strict, "strict-grounding", false, "when an LLM answer quotes a number the analysis did not return, answer with the built-in responder instead")
	fl.BoolVar(&f.vision, "vision", false, "also send the photograph (as a JPEG of at most 1024 px) to the LLM, for vision models")
}

// build returns the engine (nil for the built-in responder).
func (f *engineFlags) build() (*llm.Engine, error) {
	if f.engine == "" || f.engine == "builtin" {
		if f.url != "" || f.model != "" || f.strict || f.vision {
			return nil, usageError{fmt.Errorf("--base-url, --model, --strict-grounding and --vision need --engine ollama or openai")}
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

// guarded wraps an LLM engine: it streams the text to out (when set and
// not strict) and applies the --strict-grounding fallback.
type guarded struct {
	llm    *llm.Engine
	strict bool
	alt    assistant.Engine
	out    io.Writer // streamed text goes here; nil: no streaming
	// wrote says whether the last turn's text was streamed to out (so
	// the caller does not print it again), partly if the turn failed.
	wrote bool
}

func (g *guarded) Respond(ctx context.Context, conv *assistant.Conversation, doc *assistant.Document) (assistant.Answer, error) {
	// serve shares one guarded engine between requests: with no out it
	// keeps no per-turn state.
	var onText func(string)
	if g.out != nil && !g.strict {
		g.wrote = false
		onText = func(s string) {
			g.wrote = true
			io.WriteString(g.out, s)
		}
	}
	a, err := g.llm.RespondStream(ctx, conv, doc, onText)
	if g.wrote {
		fmt.Fprintln(g.out)
	}
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

// engine is g as a session's engine (nil, the built-in responder, for nil).
func (g *guarded) engine() assistant.Engine {
	if g == nil {
		return nil
	}
	return g
}

// newGuarded is the LLM engine for the flags (nil: built-in).
func (f *engineFlags) newGuarded() (*guarded, error) {
	e, err := f.build()
	if err != nil || e == nil {
		return nil, err
	}
	return &guarded{llm: e, strict: f.strict, alt: assistant.NewBuiltin(nil)}, nil
}

// newEngine is the engine for the flags as an assistant.Engine (nil: the
// built-in responder), for serve, which has no photo to send.
func (f *engineFlags) newEngine() (assistant.Engine, error) {
	if f.vision {
		return nil, usageError{errors.New("--vision is for ask and chat")}
	}
	g, err := f.newGuarded()
	return g.engine(), err
}

// attachImage gives the engine the photograph for --vision; it needs a
// photo analysed now (not --report).
func (f *engineFlags) attachImage(g *guarded, subj *subject) error {
	if !f.vision || g == nil {
		return nil
	}
	if subj.image == nil {
		return usageError{errors.New("--vision sends the photograph: give IMAGE (or none for the sample), not --report")}
	}
	b, err := visionJPEG(subj.image, 1024)
	if err != nil {
		return err
	}
	g.llm.SetImage(b)
	return nil
}

// visionJPEG scales img so its longer side is at most side and encodes it.
func visionJPEG(img image.Image, side int) ([]byte, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > side || h > side {
		if w >= h {
			w, h = side, h*side/w
		} else {
			w, h = w*side/h, side
		}
		dst := image.NewRGBA(image.Rect(0, 0, max(1, w), max(1, h)))
		draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
		img = dst
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("encode the photo for --vision: %w", err)
	}
	return buf.Bytes(), nil
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

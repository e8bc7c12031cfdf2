package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ollama/ollama/api"
)

// ollamaBackend talks to Ollama's native /api/chat through its own Go
// client (github.com/ollama/ollama/api), always streamed.
type ollamaBackend struct {
	e     *Engine
	c     *api.Client
	tools api.Tools
}

func newOllama(e *Engine, u *url.URL) *ollamaBackend {
	hc := e.cfg.Client
	if e.cfg.APIKey != "" {
		rt := hc.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		c := *hc
		c.Transport = bearer{e.cfg.APIKey, rt}
		hc = &c
	}
	base := *u
	base.Path = strings.TrimSuffix(strings.TrimSuffix(base.Path, "/"), "/v1")
	var tools api.Tools
	b, _ := json.Marshal(toolDefs(e.reg))
	if err := json.Unmarshal(b, &tools); err != nil {
		panic("llm: tool definitions do not fit api.Tools: " + err.Error())
	}
	return &ollamaBackend{e: e, c: api.NewClient(&base, hc), tools: tools}
}

func (o *ollamaBackend) chat(ctx context.Context, msgs []message, last bool, onText func(string)) (message, error) {
	stream := true
	req := &api.ChatRequest{Model: o.e.cfg.Model, Stream: &stream, Options: o.e.cfg.Options}
	if !last {
		req.Tools = o.tools // Ollama has no tool_choice: the last round gets no tools
	}
	for _, m := range msgs {
		am := api.Message{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, ToolName: m.Name}
		if len(m.Image) > 0 {
			am.Images = []api.ImageData{m.Image}
		}
		for _, tc := range m.ToolCalls {
			var args api.ToolCallFunctionArguments
			if err := json.Unmarshal([]byte(tc.Args), &args); err != nil {
				args = api.NewToolCallFunctionArguments()
			}
			am.ToolCalls = append(am.ToolCalls, api.ToolCall{ID: tc.ID, Function: api.ToolCallFunction{Name: tc.Name, Arguments: args}})
		}
		req.Messages = append(req.Messages, am)
	}
	var out message
	var text strings.Builder
	err := o.c.Chat(ctx, req, func(r api.ChatResponse) error {
		if r.Message.Content != "" {
			text.WriteString(r.Message.Content)
			if onText != nil {
				onText(r.Message.Content)
			}
		}
		for _, tc := range r.Message.ToolCalls {
			args, err := json.Marshal(&tc.Function.Arguments)
			if err != nil {
				args = []byte("{}")
			}
			out.ToolCalls = append(out.ToolCalls, toolCall{ID: tc.ID, Name: tc.Function.Name, Args: string(args)})
		}
		return nil
	})
	if err != nil {
		var se api.StatusError
		if errors.As(err, &se) {
			return message{}, &httpError{se.StatusCode, se.ErrorMessage}
		}
		var ae api.AuthorizationError
		if errors.As(err, &ae) {
			return message{}, &httpError{ae.StatusCode, ae.Status}
		}
		return message{}, err
	}
	out.Role = "assistant"
	out.Content = text.String()
	return out, nil
}

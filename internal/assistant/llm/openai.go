package llm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// openaiBackend talks to any OpenAI-compatible chat-completions server
// through openai-go: streamed when the caller wants the text as it comes,
// one JSON answer otherwise.
type openaiBackend struct {
	e     *Engine
	c     openai.Client
	tools []openai.ChatCompletionToolUnionParam
}

func newOpenAI(e *Engine, u *url.URL) *openaiBackend {
	// The options after the client's defaults win, so OPENAI_BASE_URL in
	// the environment cannot redirect the report elsewhere; an empty key
	// sends no Authorization header.
	c := openai.NewClient(
		option.WithBaseURL(openAIBase(u)),
		option.WithAPIKey(e.cfg.APIKey),
		option.WithHTTPClient(e.cfg.Client),
		option.WithMaxRetries(0),
	)
	var tools []openai.ChatCompletionToolUnionParam
	for _, t := range toolDefs(e.reg) {
		tools = append(tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:        t.Function.Name,
			Description: openai.String(t.Function.Description),
			Parameters:  shared.FunctionParameters(t.Function.Parameters),
		}))
	}
	return &openaiBackend{e: e, c: c, tools: tools}
}

func (o *openaiBackend) params(msgs []message, last bool) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{Model: shared.ChatModel(o.e.cfg.Model), Tools: o.tools}
	if t, ok := o.e.cfg.Options["temperature"].(float64); ok {
		p.Temperature = openai.Float(t)
	}
	if s, ok := o.e.cfg.Options["seed"].(int); ok {
		p.Seed = openai.Int(int64(s))
	}
	if last {
		p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("none")}
	}
	for _, m := range msgs {
		switch m.Role {
		case "system":
			p.Messages = append(p.Messages, openai.SystemMessage(m.Content))
		case "user":
			if len(m.Image) > 0 {
				mime := http.DetectContentType(m.Image)
				if mime != "image/png" {
					mime = "image/jpeg"
				}
				p.Messages = append(p.Messages, openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
					openai.TextContentPart(m.Content),
					openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{
						URL: "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(m.Image)}),
				}))
				continue
			}
			p.Messages = append(p.Messages, openai.UserMessage(m.Content))
		case "assistant":
			if len(m.ToolCalls) == 0 {
				p.Messages = append(p.Messages, openai.AssistantMessage(m.Content))
				continue
			}
			a := openai.ChatCompletionAssistantMessageParam{}
			if m.Content != "" {
				a.Content.OfString = openai.String(m.Content)
			}
			for _, tc := range m.ToolCalls {
				a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
						ID:       tc.ID,
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: tc.Args},
					}})
			}
			p.Messages = append(p.Messages, openai.ChatCompletionMessageParamUnion{OfAssistant: &a})
		case "tool":
			p.Messages = append(p.Messages, openai.ToolMessage(m.Content, m.ToolCallID))
		}
	}
	return p
}

func (o *openaiBackend) chat(ctx context.Context, msgs []message, last bool, onText func(string)) (message, error) {
	p := o.params(msgs, last)
	var cm openai.ChatCompletionMessage
	if onText == nil {
		r, err := o.c.Chat.Completions.New(ctx, p)
		if err != nil {
			return message{}, o.err(err)
		}
		if len(r.Choices) == 0 {
			return message{}, fmt.Errorf("%w: %s returned no choices", ErrMalformed, o.e.base)
		}
		cm = r.Choices[0].Message
	} else {
		s := o.c.Chat.Completions.NewStreaming(ctx, p)
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			ch := s.Current()
			acc.AddChunk(ch)
			if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
				onText(ch.Choices[0].Delta.Content)
			}
		}
		err := s.Err()
		s.Close()
		if err != nil {
			return message{}, o.err(err)
		}
		if len(acc.Choices) == 0 {
			return message{}, fmt.Errorf("%w: %s returned no choices", ErrMalformed, o.e.base)
		}
		cm = acc.Choices[0].Message
	}
	out := message{Role: "assistant", Content: cm.Content}
	for _, tc := range cm.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, toolCall{ID: tc.ID, Name: tc.Function.Name, Args: tc.Function.Arguments})
	}
	return out, nil
}

// err turns an openai-go API error into an httpError with the server's
// message (openai-go's own Error() keeps it out on purpose).
func (o *openaiBackend) err(err error) error {
	var ae *openai.Error
	if errors.As(err, &ae) {
		detail := ae.Message
		if detail == "" {
			detail = strings.TrimSpace(ae.RawJSON())
		}
		if detail == "" {
			detail = http.StatusText(ae.StatusCode)
		}
		return &httpError{ae.StatusCode, detail}
	}
	return err
}

package instruct

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Rewriter paraphrases one answer to one question. Its text replaces the
// answer only if Verify finds every number in it grounded.
type Rewriter interface {
	Rewrite(ctx context.Context, question, answer string) (string, error)
}

// RewritePrompt is the system instruction of the paraphrase pass.
const RewritePrompt = `You rewrite answers of a retinal photo assistant for a lay reader.
Paraphrase the answer you are given in plain, friendly words, as a reply to the question.
Keep every number exactly as written (same digits, same decimals, same units); add no number, no measurement, no diagnosis and no advice that the answer does not give.
Reply with the rewritten answer only.`

// OpenAIRewriter asks an OpenAI-compatible chat-completions server (OpenAI,
// or Ollama under /v1) through openai-go, at temperature 0 with a fixed seed.
type OpenAIRewriter struct {
	client openai.Client
	model  string
}

// NewOpenAIRewriter talks to baseURL (".../v1", a bare host gets /v1)
// with model; apiKey may be empty (Ollama).
func NewOpenAIRewriter(baseURL, model, apiKey string) (*OpenAIRewriter, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("rewriter URL %q: want http(s)://host[:port][/v1]", baseURL)
	}
	if model == "" {
		return nil, errors.New("rewriter: no model")
	}
	b := strings.TrimRight(u.String(), "/")
	if u.Path == "" || u.Path == "/" {
		b += "/v1"
	}
	if apiKey == "" {
		apiKey = "none"
	}
	c := openai.NewClient(option.WithBaseURL(b+"/"), option.WithAPIKey(apiKey), option.WithMaxRetries(2))
	return &OpenAIRewriter{client: c, model: model}, nil
}

// Rewrite implements Rewriter.
func (r *OpenAIRewriter) Rewrite(ctx context.Context, question, answer string) (string, error) {
	p := openai.ChatCompletionNewParams{
		Model: shared.ChatModel(r.model),
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(RewritePrompt),
			openai.UserMessage("Question: " + question + "\n\nAnswer to rewrite: " + answer),
		},
		Temperature: openai.Float(0),
		Seed:        openai.Int(1),
	}
	resp, err := r.client.Chat.Completions.New(ctx, p)
	if err != nil {
		return "", err
	}
	if len(resp.Choices) == 0 {
		return "", errors.New("no choices in the reply")
	}
	text := strings.TrimSpace(resp.Choices[0].Message.Content)
	if text == "" {
		return "", errors.New("empty rewrite")
	}
	return text, nil
}

// rewriteEntry paraphrases every answer of the entry's samples. A sample
// whose paraphrases quote a number Verify cannot ground in the Report,
// the labels or the engine's derived values is dropped from the data and
// listed; an engine error is returned (the record fails, and is retried
// by a resumed run).
func rewriteEntry(ctx context.Context, rw Rewriter, e *Entry, rep *report.Report, c1, c2 Conversation) error {
	e.Rewrite = &EntryRewrites{}
	do := func(name string, s *Sample, derived []float64) (*Sample, error) {
		out := *s
		out.Conversations = append([]Message(nil), s.Conversations...)
		var bad []string
		for i := 1; i < len(out.Conversations); i += 2 {
			q := strings.TrimSpace(strings.ReplaceAll(out.Conversations[i-1].Value, ImageToken, ""))
			t, err := rw.Rewrite(ctx, q, out.Conversations[i].Value)
			if err != nil {
				return nil, err
			}
			e.Rewrite.Answers++
			bad = append(bad, Verify(t, rep, e.Labels, derived...)...)
			if strings.Contains(t, ImageToken) {
				bad = append(bad, ImageToken)
			}
			out.Conversations[i].Value = t
		}
		if len(bad) > 0 {
			e.Rewrite.Dropped = append(e.Rewrite.Dropped, name+": "+strings.Join(bad, ", "))
			return nil, nil
		}
		return &out, nil
	}
	var err error
	if e.Stage1, err = do("stage1", e.Stage1, c1.Derived); err != nil {
		return err
	}
	e.Stage2, err = do("stage2", e.Stage2, c2.Derived)
	return err
}

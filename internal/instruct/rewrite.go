package instruct

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ollama/ollama/api"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// Rewriter paraphrases one answer to one question. Its text replaces the
// answer only if it carries exactly the answer's numbers (SameNumbers).
type Rewriter interface {
	Rewrite(ctx context.Context, question, answer string) (string, error)
}

// RewritePrompt is the system instruction of the paraphrase pass.
const RewritePrompt = `You rewrite answers of a retinal photo assistant for a lay reader.
Paraphrase the answer you are given in plain, friendly words, as a reply to the question.
Keep every number exactly as written (same digits, same decimals, same units); add no number, no measurement, no diagnosis and no advice that the answer does not give.
Reply with the rewritten answer only.`

// rewriteRequest is the user message asking for one paraphrase.
func rewriteRequest(question, answer string) string {
	return "Question: " + question + "\n\nAnswer to rewrite: " + answer
}

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
			openai.UserMessage(rewriteRequest(question, answer)),
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

// OllamaRewriter asks an Ollama server through its native chat API (the
// Go client of github.com/ollama/ollama/api, as the assistant's ollama
// engine does), at temperature 0 with a fixed seed, unstreamed.
type OllamaRewriter struct {
	client *api.Client
	model  string
}

// NewOllamaRewriter talks to the Ollama server at baseURL
// ("http://host:port"; a trailing /v1, the OpenAI-compatible endpoint's
// path, is dropped) with model. apiKey, when set, is sent as a bearer
// token (an Ollama behind an authenticating proxy).
func NewOllamaRewriter(baseURL, model, apiKey string) (*OllamaRewriter, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("rewriter URL %q: want http(s)://host[:port]", baseURL)
	}
	if model == "" {
		return nil, errors.New("rewriter: no model")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v1")
	hc := &http.Client{}
	if apiKey != "" {
		hc.Transport = bearer{apiKey, http.DefaultTransport}
	}
	return &OllamaRewriter{client: api.NewClient(u, hc), model: model}, nil
}

// Rewrite implements Rewriter.
func (r *OllamaRewriter) Rewrite(ctx context.Context, question, answer string) (string, error) {
	stream := false
	req := &api.ChatRequest{
		Model:  r.model,
		Stream: &stream,
		Messages: []api.Message{
			{Role: "system", Content: RewritePrompt},
			{Role: "user", Content: rewriteRequest(question, answer)},
		},
		Options: map[string]any{"temperature": 0, "seed": 1},
	}
	var text strings.Builder
	err := r.client.Chat(ctx, req, func(resp api.ChatResponse) error {
		text.WriteString(resp.Message.Content)
		return nil
	})
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(text.String())
	if t == "" {
		return "", errors.New("empty rewrite")
	}
	return t, nil
}

// bearer adds an Authorization header to every request.
type bearer struct {
	key string
	rt  http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.key)
	return b.rt.RoundTrip(req)
}

// rewriteEntry paraphrases every answer of the entry's samples. A
// paraphrase must carry exactly its original's numbers (SameNumbers: a
// multiset of normalized values); the originals passed Verify, so a
// paraphrase that does is grounded in the same facts. A sample with a
// changed, added or dropped number (or the image token in a paraphrase)
// is left out of the data and listed with the reason; an engine error is
// returned (the record fails, and is retried by a resumed run).
func rewriteEntry(ctx context.Context, rw Rewriter, e *Entry) error {
	e.Rewrite = &EntryRewrites{}
	do := func(name string, s *Sample) (*Sample, error) {
		if s == nil {
			return nil, nil
		}
		out := *s
		out.Conversations = append([]Message(nil), s.Conversations...)
		var bad []string
		for i := 1; i < len(out.Conversations); i += 2 {
			q := strings.TrimSpace(strings.ReplaceAll(out.Conversations[i-1].Value, ImageToken, ""))
			orig := out.Conversations[i].Value
			t, err := rw.Rewrite(ctx, q, orig)
			if err != nil {
				return nil, fmt.Errorf("%s answer %d: %w", name, i/2+1, err)
			}
			e.Rewrite.Answers++
			if why := numbersChanged(orig, t); why != "" {
				bad = append(bad, fmt.Sprintf("answer %d %s", i/2+1, why))
			}
			if strings.Contains(t, ImageToken) {
				bad = append(bad, fmt.Sprintf("answer %d added %s", i/2+1, ImageToken))
			}
			out.Conversations[i].Value = t
		}
		if len(bad) > 0 {
			e.Rewrite.Dropped = append(e.Rewrite.Dropped, name+": "+strings.Join(bad, "; "))
			return nil, nil
		}
		return &out, nil
	}
	var err error
	if e.Stage1, err = do("stage1", e.Stage1); err != nil {
		return err
	}
	e.Stage2, err = do("stage2", e.Stage2)
	return err
}

// numbersChanged says how a paraphrase's numbers differ from its
// original's ("lost 0.0642, added 0.06427"), or "" when they are the same.
func numbersChanged(original, paraphrase string) string {
	lost, added := SameNumbers(original, paraphrase)
	var why []string
	if len(lost) > 0 {
		why = append(why, "lost "+strings.Join(lost, " "))
	}
	if len(added) > 0 {
		why = append(why, "added "+strings.Join(added, " "))
	}
	return strings.Join(why, ", ")
}

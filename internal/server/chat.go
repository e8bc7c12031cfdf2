package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
)

// chatRequest is the part of OpenAI's chat completion request used here.
type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// contentPart is one part of a message whose content is an array.
type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url,omitempty"`
}

// parts reads a message's content: a string or an array of parts.
func (m chatMessage) parts() (text string, images []string, err error) {
	if len(m.Content) == 0 || string(m.Content) == "null" {
		return "", nil, nil
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s, nil, nil
	}
	var ps []contentPart
	if err := json.Unmarshal(m.Content, &ps); err != nil {
		return "", nil, fmt.Errorf("%w: message content is neither a string nor an array of parts", errBadRequest)
	}
	var texts []string
	for _, p := range ps {
		switch p.Type {
		case "text":
			texts = append(texts, p.Text)
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return "", nil, fmt.Errorf("%w: image_url part without a url", errBadRequest)
			}
			images = append(images, p.ImageURL.URL)
		}
	}
	return strings.Join(texts, "\n"), images, nil
}

// decodeDataURI reads a base64 data URI (data:image/jpeg;base64,...).
func decodeDataURI(u string) ([]byte, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, fmt.Errorf("%w: image_url must be a data URI (data:image/jpeg;base64,...); remote URLs are not fetched", errBadRequest)
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil, fmt.Errorf("%w: image_url data URI must be base64 encoded", errBadRequest)
	}
	b, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: image_url data URI: %w", errBadRequest, err)
	}
	return b, nil
}

// chatCompletion is OpenAI's response object, with RetinalGPT's grounding
// in an extension field.
type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *chatUsage   `json:"usage,omitempty"`
	// RetinalGPT is the analysis the answer is grounded in and the values
	// it quotes (with their Report paths), for a client that highlights
	// them.
	RetinalGPT *chatGrounding `json:"retinalgpt,omitempty"`
}

type chatChoice struct {
	Index        int      `json:"index"`
	Message      *chatOut `json:"message,omitempty"`
	Delta        *chatOut `json:"delta,omitempty"`
	FinishReason *string  `json:"finish_reason"`
}

type chatOut struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content,omitempty"`
}

type chatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatGrounding struct {
	AnalysisID string              `json:"analysis_id"`
	Intent     string              `json:"intent"`
	Grounded   []assistant.Value   `json:"grounded"`
	Missing    []assistant.Missing `json:"missing,omitempty"`
	// Highlights are the regions of the photo the answer talks about
	// (highlight.go), for a client to draw.
	Highlights []Highlight `json:"highlights,omitempty"`
	// Engine wrote the answer ("builtin", "ollama", "openai"); Ungrounded
	// are numbers in an LLM's text found in no tool result; Note says why
	// the answer is not the configured engine's (a fallback).
	Engine     string   `json:"engine,omitempty"`
	Ungrounded []string `json:"ungrounded,omitempty"`
	Note       string   `json:"note,omitempty"`
}

// defaultQuestion is asked when the last user message has only the image.
const defaultQuestion = "Give me an overview of this photo."

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	release, err := s.admit()
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	defer release()
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		if _, code, _ := errorStatus(err); code == "too_large" {
			s.fail(w, r, err)
			return
		}
		s.fail(w, r, fmt.Errorf("%w: request body is not a chat completion request: %w", errBadRequest, err))
		return
	}
	var image []byte
	var turns []assistant.Turn
	users := 0
	for _, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			continue // system and tool turns: the engine has its own instructions
		}
		text, imgs, err := m.parts()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if m.Role == "assistant" {
			turns = append(turns, assistant.Turn{Role: assistant.Assistant, Text: text})
			continue
		}
		if len(imgs) > 0 && image == nil {
			if image, err = decodeDataURI(imgs[0]); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		turns = append(turns, assistant.Turn{Role: assistant.User, Text: text})
		users++
	}
	if users == 0 {
		s.fail(w, r, fmt.Errorf("%w: no user message", errBadRequest))
		return
	}
	if image == nil {
		s.fail(w, r, fmt.Errorf("%w: the first user message must carry the fundus photo as an image_url data URI", errBadRequest))
		return
	}
	// --timeout bounds the whole request: the analysis and the engine's
	// answer (an LLM's included) together.
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	e, _, err := s.pool.analyze(ctx, image, "chat")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ans, err := s.answer(ctx, e, turns)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	model := req.Model
	if model == "" {
		model = s.cfg.Model
	}
	c := chatCompletion{
		ID: "chatcmpl-" + e.id + fmt.Sprintf("-%d", time.Now().UnixNano()), Created: time.Now().Unix(), Model: model,
		RetinalGPT: &chatGrounding{AnalysisID: e.id, Intent: string(ans.Query.Intent), Grounded: ans.Grounded, Missing: ans.Missing,
			Highlights: highlights(e.report, ans), Engine: ans.Engine, Ungrounded: ans.Ungrounded, Note: ans.Note},
	}
	if req.Stream {
		s.stream(w, c, ans.Text)
		return
	}
	stop := "stop"
	c.Object = "chat.completion"
	c.Choices = []chatChoice{{Message: &chatOut{Role: "assistant", Content: ans.Text}, FinishReason: &stop}}
	n := len(strings.Fields(ans.Text))
	c.Usage = &chatUsage{CompletionTokens: n, TotalTokens: n}
	writeJSON(w, http.StatusOK, c)
}

// answer answers the last user turn. The built-in responder keeps no
// text of its own earlier answers, only their structure, so the user
// turns are replayed through it: a follow-up ("and the veins?") then
// resolves against its own earlier answers. Any other engine (an LLM)
// gets the conversation as the client sent it, assistant turns included,
// and is asked once.
func (s *Server) answer(ctx context.Context, e *entry, turns []assistant.Turn) (assistant.Answer, error) {
	last := -1
	for i, t := range turns {
		if t.Role == assistant.User {
			last = i
		}
	}
	turns = turns[:last+1] // nothing after the question answered
	if strings.TrimSpace(turns[last].Text) == "" {
		turns[last].Text = defaultQuestion
	}
	sess, err := assistant.NewSession(s.cfg.Engine, e.report)
	if err != nil {
		return assistant.Answer{}, err
	}
	if _, builtin := s.cfg.Engine.(*assistant.Builtin); !builtin {
		sess.Conv.Turns = turns
		return s.cfg.Engine.Respond(ctx, &sess.Conv, sess.Doc)
	}
	var a assistant.Answer
	for _, t := range turns {
		if t.Role != assistant.User {
			continue
		}
		if a, err = sess.Ask(ctx, t.Text); err != nil {
			return assistant.Answer{}, err
		}
	}
	if a.Engine == "" {
		a.Engine = "builtin"
	}
	return a, nil
}

// stream writes the answer as server-sent chat.completion.chunk events, a
// few words each, then [DONE].
func (s *Server) stream(w http.ResponseWriter, c chatCompletion, text string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	c.Object = "chat.completion.chunk"
	send := func(ch chatChoice, withGrounding bool) {
		out := c
		out.Choices = []chatChoice{ch}
		if !withGrounding {
			out.RetinalGPT = nil
		}
		b, _ := json.Marshal(out)
		fmt.Fprintf(w, "data: %s\n\n", b)
		_ = rc.Flush()
	}
	send(chatChoice{Delta: &chatOut{Role: "assistant"}}, false)
	for _, piece := range chunks(text, 4) {
		send(chatChoice{Delta: &chatOut{Content: piece}}, false)
	}
	stop := "stop"
	send(chatChoice{Delta: &chatOut{}, FinishReason: &stop}, true)
	fmt.Fprint(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}

// chunks splits text into pieces of n words, keeping the spaces, so that
// the pieces joined are text.
func chunks(text string, n int) []string {
	var out []string
	words, start := 0, 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' && text[i-1] != ' ' {
			words++
			if words == n {
				out = append(out, text[start:i])
				start, words = i, 0
			}
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

package assistant

import (
	"context"
	"errors"

	"github.com/retinalgpt/retinalgpt/internal/assistant/intent"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Engine answers the last user turn of a conversation about one Report.
// The built-in responder is one; an LLM engine (Ollama, OpenAI-compatible)
// is another, calling the Document's content as tools. An engine keeps no
// state of its own: everything it needs is in the Conversation (earlier
// turns and their Answers) and the Document.
type Engine interface {
	Respond(ctx context.Context, conv *Conversation, doc *Document) (Answer, error)
}

// Role says who spoke a turn.
type Role string

// Roles.
const (
	User      Role = "user"
	Assistant Role = "assistant"
)

// Turn is one message. Assistant turns keep their Answer, so a later turn
// can resolve "and the veins?" against what was asked before.
type Turn struct {
	Role   Role
	Text   string
	Answer *Answer
}

// Conversation is the turns so far, oldest first.
type Conversation struct {
	Turns []Turn
}

// Question returns the last user message and its number (0 for the first).
func (c *Conversation) Question() (string, int) {
	n := -1
	q := ""
	for _, t := range c.Turns {
		if t.Role == User {
			n++
			q = t.Text
		}
	}
	return q, n
}

// answers returns the assistant's earlier answers, newest first.
func (c *Conversation) answers() []*Answer {
	var out []*Answer
	for i := len(c.Turns) - 1; i >= 0; i-- {
		if t := c.Turns[i]; t.Role == Assistant && t.Answer != nil {
			out = append(out, t.Answer)
		}
	}
	return out
}

// Value is one number (or text) an answer quotes, with where it is in the
// Report. Derived values (a distance in disc diameters computed from two
// Report positions) have a path starting with "derived:".
type Value struct {
	Measure string `json:"measure"`
	Label   string `json:"label,omitempty"`
	Path    string `json:"path"`
	Value   any    `json:"value"`
	Unit    string `json:"unit,omitempty"`
}

// Missing is a value the answer could not give, and why.
type Missing struct {
	Measure string `json:"measure"`
	Path    string `json:"path"`
	Reason  string `json:"reason"`
}

// Query is a question after follow-ups were resolved against earlier turns.
type Query struct {
	Intent intent.Intent `json:"intent"`
	Slots  intent.Slots  `json:"slots"`
}

// Answer is an engine's reply.
type Answer struct {
	Text string `json:"answer"`
	// Intent is what the question itself was recognized as; Query what it
	// meant in the conversation ("and the veins?" is a follow-up whose
	// query is the previous measure for the veins).
	Intent   intent.Intent `json:"intent"`
	Query    Query         `json:"query"`
	Grounded []Value       `json:"grounded"`
	Missing  []Missing     `json:"missing,omitempty"`
	// Ungrounded lists the numbers in an LLM engine's text that match no
	// value its tools returned in that turn, no earlier grounded value and
	// no registry reference number (always empty for the built-in
	// responder, whose numbers all come from the Report).
	Ungrounded []string `json:"ungrounded,omitempty"`
	// Engine names who wrote the text ("builtin", "openai", "ollama");
	// Note says why it is not the engine asked for (a fallback).
	Engine string `json:"engine,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Session is one conversation about one Report with one engine.
type Session struct {
	Engine Engine
	Doc    *Document
	Conv   Conversation
}

// NewSession starts a conversation about r; a nil engine means the
// built-in responder.
func NewSession(e Engine, r *report.Report) (*Session, error) {
	if r == nil {
		return nil, errors.New("assistant: no report")
	}
	doc, err := NewDocument(r)
	if err != nil {
		return nil, err
	}
	if e == nil {
		e = NewBuiltin(nil)
	}
	return &Session{Engine: e, Doc: doc}, nil
}

// Ask adds a question, gets the engine's answer and records it.
func (s *Session) Ask(ctx context.Context, question string) (Answer, error) {
	s.Conv.Turns = append(s.Conv.Turns, Turn{Role: User, Text: question})
	a, err := s.Engine.Respond(ctx, &s.Conv, s.Doc)
	if err != nil {
		s.Conv.Turns = s.Conv.Turns[:len(s.Conv.Turns)-1]
		return Answer{}, err
	}
	s.Conv.Turns = append(s.Conv.Turns, Turn{Role: Assistant, Text: a.Text, Answer: &a})
	return a, nil
}

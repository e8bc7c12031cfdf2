package instruct

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ImageToken marks where the image goes in the first human turn.
const ImageToken = "<image>"

// LLaVA speakers.
const (
	FromHuman = "human"
	FromGPT   = "gpt"
)

// Message is one LLaVA conversation turn.
type Message struct {
	From  string `json:"from"`
	Value string `json:"value"`
}

// Sample is one LLaVA record: an image and its conversation.
type Sample struct {
	ID            string    `json:"id"`
	Image         string    `json:"image"`
	Conversations []Message `json:"conversations"`
}

// Validate checks the LLaVA conversation shape: non-empty ID and image,
// human and gpt alternating (human first, gpt last), minTurns..maxTurns
// question-answer pairs, and ImageToken exactly once, in the first human
// turn.
func (s Sample) Validate(minTurns, maxTurns int) error {
	if s.ID == "" || s.Image == "" {
		return fmt.Errorf("sample %q: empty id or image", s.ID)
	}
	n := len(s.Conversations)
	if n%2 != 0 || n/2 < minTurns || n/2 > maxTurns {
		return fmt.Errorf("sample %s: %d messages, want %d..%d question-answer pairs", s.ID, n, minTurns, maxTurns)
	}
	for i, m := range s.Conversations {
		want := FromHuman
		if i%2 == 1 {
			want = FromGPT
		}
		if m.From != want {
			return fmt.Errorf("sample %s: message %d from %q, want %q", s.ID, i, m.From, want)
		}
		if strings.TrimSpace(strings.ReplaceAll(m.Value, ImageToken, "")) == "" {
			return fmt.Errorf("sample %s: message %d is empty", s.ID, i)
		}
		c := strings.Count(m.Value, ImageToken)
		if i == 0 && c != 1 || i > 0 && c != 0 {
			return fmt.Errorf("sample %s: message %d has %d %s tokens (want one, in the first human turn only)", s.ID, i, c, ImageToken)
		}
	}
	return nil
}

// WriteJSON writes v as indented JSON to path atomically.
func WriteJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes())
}

// WriteFileAtomic writes data to a temp file in path's folder, syncs it and
// renames it over path, so a reader never sees a half-written file.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

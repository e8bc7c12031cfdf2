package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

const lesionReport = "../assistant/testdata/future_report.json"

// streamGrounding posts a streamed chat and returns the answer text and
// the grounding of its last chunk.
func streamGrounding(t *testing.T, url string, body []byte) (string, *chatGrounding) {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("chat: %d", resp.StatusCode)
	}
	var text strings.Builder
	var g *chatGrounding
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch chatCompletion
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatal(err)
		}
		text.WriteString(ch.Choices[0].Delta.Content)
		if ch.RetinalGPT != nil {
			g = ch.RetinalGPT
		}
	}
	return text.String(), g
}

// TestChatHighlights: an answer carries the regions it talks about, from
// the Report: a question about haemorrhages gets the HE boxes, one about
// the cup-to-disc ratio the disc and the cup (its box from the Report),
// one about zone B the zone ring.
func TestChatHighlights(t *testing.T) {
	_, ts := newTest(t, Config{Analyzer: &fake{file: lesionReport}})
	b, _ := os.ReadFile(lesionReport)
	rep, err := report.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var he []report.LesionBox
	for _, lt := range rep.Lesions.Types {
		if lt.Type == "HE" {
			he = lt.Boxes
		}
	}
	img := testPNG(t, 61)
	for _, c := range []struct {
		question, kind, code, shape string
		boxes                       int
	}{
		{"how many haemorrhages are there?", "lesion", "HE", "box", len(he)},
		{"what is the cup to disc ratio?", "disc", "", "ellipse", 1},
		{"what is the cup to disc ratio?", "cup", "", "ellipse", 1},
		{"what is the vessel density in zone B?", "zone", "B", "ring", 1},
		{"where is the fovea?", "fovea", "", "ellipse", 1},
	} {
		t.Run(c.question, func(t *testing.T) {
			text, g := streamGrounding(t, ts.URL, chatBody(t, img, true, c.question))
			if g == nil {
				t.Fatalf("no grounding for %q", text)
			}
			var h *Highlight
			for i := range g.Highlights {
				if g.Highlights[i].Kind == c.kind {
					h = &g.Highlights[i]
				}
			}
			if h == nil {
				t.Fatalf("no %s highlight in %+v (answer %q, grounded %v)", c.kind, g.Highlights, text, g.Grounded)
			}
			if h.Code != c.code || h.Shape != c.shape || len(h.Boxes) != c.boxes || h.Layer == "" || h.Label == "" {
				t.Errorf("highlight %+v", *h)
			}
			for _, bx := range h.Boxes {
				if !(bx[0] < bx[2] && bx[1] < bx[3]) || bx[0] < -1 || bx[3] > 2 {
					t.Errorf("box %v not normalized x0<x1, y0<y1", bx)
				}
			}
			if c.kind == "lesion" && h.Boxes[0] != he[0].Box {
				t.Errorf("first HE box %v, report %v", h.Boxes[0], he[0].Box)
			}
			if c.kind == "cup" && h.Boxes[0] != *rep.Disc.Cup.Box {
				t.Errorf("cup box %v, report %v", h.Boxes[0], *rep.Disc.Cup.Box)
			}
			if c.kind == "zone" {
				if h.Inner == nil || h.Inner[0] <= h.Boxes[0][0] {
					t.Errorf("zone ring without its hole: %+v", *h)
				}
			}
		})
	}
	// A greeting points at nothing.
	if _, g := streamGrounding(t, ts.URL, chatBody(t, img, true, "hello")); g == nil || len(g.Highlights) != 0 || g.Engine != "builtin" {
		t.Errorf("greeting: %+v", g)
	}
}

// recordingEngine stands for an LLM engine: it records the conversations
// it is given and answers once per call.
type recordingEngine struct {
	mu    sync.Mutex
	convs [][]assistant.Turn
}

func (e *recordingEngine) Respond(ctx context.Context, conv *assistant.Conversation, doc *assistant.Document) (assistant.Answer, error) {
	e.mu.Lock()
	e.convs = append(e.convs, append([]assistant.Turn(nil), conv.Turns...))
	e.mu.Unlock()
	v, _ := doc.Lookup("disc.cdr.vertical")
	return assistant.Answer{Text: "The vertical cup-to-disc ratio is 0.36.", Engine: "ollama",
		Grounded: []assistant.Value{{Measure: "cdr_vertical", Path: "disc.cdr.vertical", Value: v}}, Ungrounded: []string{"7"}}, nil
}

// TestChatConfiguredEngine: a configured engine other than the built-in
// responder answers, once per request, given the conversation as the
// client sent it (its earlier answers included); the highlights come from
// the paths it quotes.
func TestChatConfiguredEngine(t *testing.T) {
	eng := &recordingEngine{}
	_, ts := newTest(t, Config{Analyzer: &fake{}, Engine: eng})
	text, g := streamGrounding(t, ts.URL, chatBody(t, testPNG(t, 62), true, "What is the CRAE?", "and the cup to disc ratio?"))
	if text != "The vertical cup-to-disc ratio is 0.36." || g.Engine != "ollama" || len(g.Ungrounded) != 1 {
		t.Fatalf("answer %q, grounding %+v", text, g)
	}
	if len(eng.convs) != 1 {
		t.Fatalf("engine called %d times, want 1", len(eng.convs))
	}
	turns := eng.convs[0]
	if len(turns) != 3 || turns[0].Role != assistant.User || turns[0].Text != "What is the CRAE?" ||
		turns[1].Role != assistant.Assistant || turns[1].Text != "(earlier answer)" || turns[2].Text != "and the cup to disc ratio?" {
		t.Errorf("conversation given to the engine: %+v", turns)
	}
	if len(g.Highlights) != 1 || g.Highlights[0].Kind != "disc" {
		t.Errorf("highlights %+v", g.Highlights)
	}
}

// TestLogsHoldNoContent: during uploads, chat (streamed and not, and a
// failing one) nothing logged, even at debug level, holds the question,
// the answer or the image's bytes.
func TestLogsHoldNoContent(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	h := slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug})
	prev := slog.Default()
	slog.SetDefault(slog.New(h)) // and anything logging to the default logger
	t.Cleanup(func() { slog.SetDefault(prev) })
	_, ts := newTest(t, Config{Analyzer: &fake{file: lesionReport}, Logger: slog.New(h)})
	img := testPNG(t, 63)
	const secret = "zebra-quokka-4711 haemorrhages"
	do(t, "POST", ts.URL+"/v1/analyses?name=patient-jane-doe.png", "", "image/png", img)
	_, answer := do(t, "POST", ts.URL+"/v1/chat/completions", "", "application/json", chatBody(t, img, false, "how many "+secret+"?"))
	text, _ := streamGrounding(t, ts.URL, chatBody(t, img, true, "what is the CDR? "+secret))
	do(t, "POST", ts.URL+"/v1/chat/completions", "", "application/json", []byte(`{"messages":[{"role":"user","content":"`+secret+`"}]}`))
	do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", []byte("not an image "+secret))
	var c chatCompletion
	if json.Unmarshal(answer, &c) != nil || len(c.Choices) == 0 {
		t.Fatalf("chat: %s", answer)
	}
	mu.Lock()
	logged := buf.String()
	mu.Unlock()
	for name, s := range map[string]string{
		"question": "zebra-quokka", "file name": "jane-doe", "answer": c.Choices[0].Message.Content,
		"streamed answer": text, "image bytes (base64)": base64.StdEncoding.EncodeToString(img)[:24],
	} {
		if s != "" && strings.Contains(logged, s) {
			t.Errorf("the log holds the %s:\n%s", name, logged)
		}
	}
	if !strings.Contains(logged, "msg=analysis") || !strings.Contains(logged, "msg=request") {
		t.Errorf("the test's logger caught nothing:\n%s", logged)
	}
	if bytes.Contains([]byte(logged), img[:8]) {
		t.Error("the log holds the image's bytes")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

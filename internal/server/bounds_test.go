package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// TestBurstBounds sends 50 distinct uploads at once to a server whose
// analyses block: no more than workers+queue are accepted, the rest get
// 429 with Retry-After, every accepted one finishes once released, and
// no goroutine outlives the burst.
func TestBurstBounds(t *testing.T) {
	const n, workers, queue = 50, 2, 4
	f := &fake{block: make(chan struct{})}
	s, ts := newTest(t, Config{Analyzer: f, Workers: workers, Queue: queue, RetryAfter: 3 * time.Second})
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = testPNG(t, i)
	}
	before := runtime.NumGoroutine()

	type answer struct {
		code       int
		retryAfter string
		err        error
	}
	answers := make([]answer, n)
	var mu sync.Mutex
	rejected := 0
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post(ts.URL+"/v1/analyses", "image/png", bytes.NewReader(bodies[i]))
			if err != nil {
				answers[i].err = err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers[i] = answer{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
			if resp.StatusCode == http.StatusTooManyRequests {
				mu.Lock()
				rejected++
				mu.Unlock()
			}
		}()
	}

	// Wait until every upload is either rejected or held by the pool.
	inflight := func() int {
		s.pool.mu.Lock()
		defer s.pool.mu.Unlock()
		return len(s.pool.inflight)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		r := rejected
		mu.Unlock()
		held := inflight()
		if held > workers+queue {
			t.Fatalf("%d analyses held at once, bound is workers+queue = %d", held, workers+queue)
		}
		if r+held == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d rejected + %d held != %d sent", r, held, n)
		}
		time.Sleep(time.Millisecond)
	}
	if got := f.calls.Load(); got > workers {
		t.Errorf("%d analyses running while blocked, want ≤ %d workers", got, workers)
	}
	held := inflight()
	close(f.block)
	wg.Wait()

	created := 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("upload %d: %v", i, a.err)
		case a.code == http.StatusCreated:
			created++
		case a.code == http.StatusTooManyRequests:
			if a.retryAfter != "3" {
				t.Errorf("upload %d: 429 with Retry-After %q, want 3", i, a.retryAfter)
			}
		default:
			t.Errorf("upload %d: status %d", i, a.code)
		}
	}
	if created != held || created < queue || created > workers+queue {
		t.Errorf("%d created (%d held), want between %d and %d", created, held, queue, workers+queue)
	}
	if rejected == 0 {
		t.Error("no upload was rejected")
	}
	t.Logf("%d created, %d rejected with 429", created, rejected)

	// Goroutines: the client's idle connections close, the server's
	// connection goroutines then end; the workers were counted before.
	tr.CloseIdleConnections()
	deadline = time.Now().Add(5 * time.Second)
	after := runtime.NumGoroutine()
	for after > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		tr.CloseIdleConnections()
		after = runtime.NumGoroutine()
	}
	if after > before+2 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before the burst, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// TestRetryAfterEstimate: without a fixed Retry-After the server says how
// long the waiting work should take, from the measured analysis time.
func TestRetryAfterEstimate(t *testing.T) {
	p := &pool{workers: 2, jobs: make(chan *call, 4)}
	if got := p.retryAfter(5 * time.Second); got != 5*time.Second {
		t.Errorf("before any analysis: %v, want the 5s fallback", got)
	}
	p.observe(2 * time.Second)
	p.running.Add(2)
	p.jobs <- &call{}
	p.jobs <- &call{}
	if got := p.retryAfter(5 * time.Second); got != 4*time.Second {
		t.Errorf("4 waiting, 2 s each, 2 workers: %v, want 4s", got)
	}
	p.observe(10 * time.Second) // the average moves by an eighth of the difference
	if got, want := time.Duration(p.meanNs.Load()), 3*time.Second; got != want {
		t.Errorf("moving average %v, want %v", got, want)
	}
	p.running.Add(-2)
	<-p.jobs
	<-p.jobs
	if got := p.retryAfter(5 * time.Second); got != time.Second {
		t.Errorf("nothing waiting: %v, want the 1s floor", got)
	}
}

// TestUploadSlots: beyond MaxUploads, a request with a photo (upload or
// chat) gets 429 too_many_uploads with Retry-After before its body is
// read, so bodies in memory stay within MaxUploads × MaxBodyBytes; a slot
// is given back when its request ends.
func TestUploadSlots(t *testing.T) {
	f := &fake{started: make(chan string, 4), block: make(chan struct{})}
	_, ts := newTest(t, Config{Analyzer: f, Workers: 1, Queue: 8, MaxUploads: 2})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 90+i))
		}()
	}
	<-f.started // one analysing; wait until the other is queued
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, m := do(t, "GET", ts.URL+"/metrics", "", "", nil)
		if bytes.Contains(m, []byte("retinalgpt_uploads_in_progress 2\n")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("two uploads not in progress:\n%s", m)
		}
		time.Sleep(time.Millisecond)
	}
	// A body that never ends: refused without being read.
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/v1/analyses", pr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || errorCode(t, b).Error.Code != "too_many_uploads" {
		t.Errorf("third upload: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if resp, b := do(t, "POST", ts.URL+"/v1/chat/completions", "", "application/json", chatBody(t, testPNG(t, 93), false, "hi")); resp.StatusCode != 429 {
		t.Errorf("chat beyond the slots: %d %s", resp.StatusCode, b)
	}
	close(f.block)
	wg.Wait()
	if resp, b := do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 94)); resp.StatusCode != 201 {
		t.Errorf("after the slots were given back: %d %s", resp.StatusCode, b)
	}
}

// TestUploadValidatedBeforeQueue: an upload whose header the decoder
// would refuse is answered at once, without taking a place in the queue:
// with the only worker busy and the queue full, a bad image still gets
// 400 and an oversized one 413 (not 429), and neither reaches the
// analyzer.
func TestUploadValidatedBeforeQueue(t *testing.T) {
	f := &fake{started: make(chan string, 4), block: make(chan struct{})}
	s, ts := newTest(t, Config{Analyzer: f, Workers: 1, Queue: 1, Limits: fundus.Limits{MaxPixels: 300}})
	var wg sync.WaitGroup
	wg.Add(2)
	for i := range 2 {
		go func() {
			defer wg.Done()
			do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 80+i)) // 16×16: 256 px, within the limit
		}()
		if i == 0 {
			<-f.started
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.pool.queueDepth() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("second upload never queued")
		}
		time.Sleep(time.Millisecond)
	}
	big := image.NewGray(image.Rect(0, 0, 20, 20)) // 400 px
	var bigPNG bytes.Buffer
	png.Encode(&bigPNG, big)
	for _, c := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"empty", nil, 400},
		{"text", []byte("hello, this is text"), 400},
		{"truncated header", testPNG(t, 90)[:20], 400},
		{"too many pixels", bigPNG.Bytes(), 413},
	} {
		if resp, b := do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", c.body); resp.StatusCode != c.status {
			t.Errorf("%s with the queue full: %d, want %d: %s", c.name, resp.StatusCode, c.status, b)
		}
	}
	close(f.block)
	wg.Wait()
	if n := f.calls.Load(); n != 2 {
		t.Errorf("the analyzer ran %d times, want 2 (the valid uploads only)", n)
	}
}

// slowEngine answers only when its context ends.
type slowEngine struct{ sawDeadline atomic.Bool }

func (e *slowEngine) Respond(ctx context.Context, conv *assistant.Conversation, doc *assistant.Document) (assistant.Answer, error) {
	<-ctx.Done()
	e.sawDeadline.Store(errors.Is(ctx.Err(), context.DeadlineExceeded))
	return assistant.Answer{}, fmt.Errorf("engine: %w", ctx.Err())
}

// TestChatTimeout: --timeout bounds the whole chat request, the engine's
// answer included: an engine that never answers gets 504 in time.
func TestChatTimeout(t *testing.T) {
	eng := &slowEngine{}
	_, ts := newTest(t, Config{Analyzer: &fake{}, Engine: eng, Timeout: 300 * time.Millisecond})
	start := time.Now()
	resp, b := do(t, "POST", ts.URL+"/v1/chat/completions", "", "application/json", chatBody(t, testPNG(t, 91), false, "what is the CDR?"))
	if resp.StatusCode != http.StatusGatewayTimeout || !eng.sawDeadline.Load() {
		t.Errorf("chat with an engine that never answers: %d %s (engine saw its deadline: %v)", resp.StatusCode, b, eng.sawDeadline.Load())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v", d)
	}
}

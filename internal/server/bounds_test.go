package server

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
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

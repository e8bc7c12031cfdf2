package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// fake is an Analyzer that needs no ONNX Runtime: it returns the
// assistant's sample report (with the image's id), or err, after block is
// closed (when set), and counts its calls.
type fake struct {
	calls   atomic.Int64
	started chan string // receives the image's SHA-256 when an analysis starts (optional)
	block   chan struct{}
	err     error
	panics  bool
	sawDone atomic.Bool // an analysis saw its context end
	file    string      // the report to return; "": the assistant's sample report
	mutate  func(*report.Report)
	masks   bool // give the Result vessel, A/V and disc masks, for the overlay
}

func (f *fake) Analyze(ctx context.Context, img *fundus.Image, opt analysis.Options) (*analysis.Result, error) {
	f.calls.Add(1)
	if f.started != nil {
		f.started <- img.SHA256
	}
	if f.panics {
		panic("boom")
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			f.sawDone.Store(true)
			return nil, ctx.Err()
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	file := f.file
	if file == "" {
		file = "../assistant/testdata/sample_report.json"
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r, err := report.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	r.ID = img.SHA256[:16]
	r.Image.SHA256, r.Image.Format, r.Image.File = img.SHA256, img.Format, img.Name
	if f.mutate != nil {
		f.mutate(r)
	}
	res := &analysis.Result{Report: r, Image: img}
	if f.masks {
		fakeMasks(res)
	}
	return res, nil
}

// fakeMasks gives res masks drawn from its photo's size: vessels,
// arteries, veins, and a disc and cup covering part of it.
func fakeMasks(res *analysis.Result) {
	b := res.Image.Pix.Bounds()
	res.VesselMask, res.Arteries, res.Veins = image.NewGray(b), image.NewGray(b), image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch (x + 2*y) % 5 {
			case 0:
				res.VesselMask.SetGray(x, y, color.Gray{255})
				res.Arteries.SetGray(x, y, color.Gray{255})
			case 1:
				res.VesselMask.SetGray(x, y, color.Gray{255})
				res.Veins.SetGray(x, y, color.Gray{1})
			}
		}
	}
	// A sub-image: its Rect does not start at the origin.
	dr := image.Rect(b.Dx()/4, b.Dy()/4, 3*b.Dx()/4, 3*b.Dy()/4)
	d, c := image.NewGray(b).SubImage(dr).(*image.Gray), image.NewGray(dr.Inset(dr.Dx()/4))
	for y := dr.Min.Y; y < dr.Max.Y; y++ {
		for x := dr.Min.X; x < dr.Max.X; x++ {
			d.SetGray(x, y, color.Gray{255})
			if (image.Point{x, y}).In(c.Rect) {
				c.SetGray(x, y, color.Gray{255})
			}
		}
	}
	res.Disc = &disc.Segmentation{Disc: d, Cup: c, Found: true}
}

// testPNG is a small PNG, a different one for each seed.
func testPNG(t testing.TB, seed int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for i := range 16 {
		img.Set(i, i, color.NRGBA{R: uint8(seed), G: 100, B: 50, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newTest(t testing.TB, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := New(cfg)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

func do(t testing.TB, method, url, token, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// errorCode reads an error answer's code, failing when it is not one.
func errorCode(t testing.TB, b []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an error answer (%v): %s", err, b)
	}
	return e
}

func TestAuth(t *testing.T) {
	_, ts := newTest(t, Config{Analyzer: &fake{}, Token: "s3cret"})
	for _, c := range []struct {
		name, path, token string
		want              int
	}{
		{"no token", "/metrics", "", 401},
		{"wrong token", "/metrics", "nope", 401},
		{"right token", "/metrics", "s3cret", 200},
		{"no token upload", "/v1/analyses/0123456789abcdef", "", 401},
		{"healthz is public", "/healthz", "", 200},
		{"readyz is public", "/readyz", "", 200},
		{"openapi is public", "/openapi.json", "", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, b := do(t, "GET", ts.URL+c.path, c.token, "", nil)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, b)
			}
			if c.want == 401 {
				if e := errorCode(t, b); e.Error.Code != "unauthorized" {
					t.Errorf("code %q", e.Error.Code)
				}
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8080", "", true},
		{"localhost:8080", "", true},
		{"[::1]:8080", "", true},
		{"0.0.0.0:8080", "", false},
		{":8080", "", false},
		{"192.168.1.5:8080", "", false},
		{"0.0.0.0:8080", "t", true},
		{"nonsense", "t", false},
	} {
		if err := CheckAddr(c.addr, c.token); (err == nil) != c.ok {
			t.Errorf("CheckAddr(%q, %q) = %v, want ok %v", c.addr, c.token, err, c.ok)
		}
	}
}

func TestUploadErrors(t *testing.T) {
	nf := &analysis.NotFundusError{File: "x", Reasons: []string{"no circular field of view", "greyscale"}}
	big := bytes.Repeat([]byte{0xff}, 4096)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("image", "big.jpg")
	fw.Write(big)
	mw.Close()
	for _, c := range []struct {
		name        string
		an          *fake
		contentType string
		body        []byte
		status      int
		code        string
	}{
		{"too large raw", &fake{}, "image/jpeg", big, 413, "too_large"},
		{"too large multipart", &fake{}, mw.FormDataContentType(), mp.Bytes(), 413, "too_large"},
		{"not an image", &fake{}, "image/jpeg", []byte("hello, this is text"), 400, "bad_image"},
		{"empty", &fake{}, "image/png", nil, 400, "bad_image"},
		{"truncated", &fake{}, "image/png", testPNG(t, 1)[:60], 400, "bad_image"},
		{"multipart without image", &fake{}, "multipart/form-data; boundary=x", []byte("--x--\r\n"), 400, "bad_request"},
		{"not fundus", &fake{err: nf}, "image/png", testPNG(t, 2), 422, "not_fundus"},
		{"analyzer panics", &fake{panics: true}, "image/png", testPNG(t, 3), 500, "internal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ts := newTest(t, Config{Analyzer: c.an, MaxBodyBytes: 1024})
			resp, b := do(t, "POST", ts.URL+"/v1/analyses", "", c.contentType, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			e := errorCode(t, b)
			if e.Error.Code != c.code {
				t.Errorf("code %q, want %q", e.Error.Code, c.code)
			}
			if c.code == "not_fundus" && len(e.Error.Reasons) != 2 {
				t.Errorf("reasons %q", e.Error.Reasons)
			}
		})
	}
}

func TestNotReady(t *testing.T) {
	s, ts := newTest(t, Config{})
	for _, path := range []string{"/readyz"} {
		if resp, b := do(t, "GET", ts.URL+path, "", "", nil); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	if resp, b := do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 1)); resp.StatusCode != 503 {
		t.Fatalf("upload before ready: %d %s", resp.StatusCode, b)
	}
	s.SetAnalyzer(&fake{}, nil)
	if resp, b := do(t, "GET", ts.URL+"/readyz", "", "", nil); resp.StatusCode != 200 {
		t.Fatalf("readyz after SetAnalyzer: %d %s", resp.StatusCode, b)
	}
}

func TestQueueFull(t *testing.T) {
	f := &fake{started: make(chan string, 4), block: make(chan struct{})}
	s, ts := newTest(t, Config{Analyzer: f, Workers: 1, Queue: 1, RetryAfter: 7 * time.Second})
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	post := func(i int) {
		defer wg.Done()
		resp, _ := do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 10+i))
		statuses[i] = resp.StatusCode
	}
	wg.Add(2)
	go post(0)
	<-f.started // the worker is busy
	go post(1)
	deadline := time.Now().Add(5 * time.Second)
	for s.pool.queueDepth() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("second upload never queued")
		}
		time.Sleep(time.Millisecond)
	}
	resp, b := do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 12))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("third upload: %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if e := errorCode(t, b); e.Error.Code != "queue_full" {
		t.Errorf("code %q", e.Error.Code)
	}
	_, mb := do(t, "GET", ts.URL+"/metrics", "", "", nil)
	if !strings.Contains(string(mb), "retinalgpt_analysis_queue_depth 1\n") {
		t.Errorf("metrics lack the queue depth:\n%s", mb)
	}
	close(f.block)
	wg.Wait()
	if statuses[0] != 201 || statuses[1] != 201 {
		t.Errorf("queued uploads: %v, want 201 201", statuses)
	}
}

func TestCancelFreesWorker(t *testing.T) {
	f := &fake{started: make(chan string, 4), block: make(chan struct{})}
	s, ts := newTest(t, Config{Analyzer: f, Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/analyses", bytes.NewReader(testPNG(t, 1)))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-f.started
	cancel()
	<-errc
	deadline := time.Now().Add(5 * time.Second)
	for !f.sawDone.Load() || s.pool.running.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the analysis was not cancelled when the client went away")
		}
		time.Sleep(time.Millisecond)
	}
	// The worker is free: another upload is analysed.
	close(f.block)
	if resp, b := do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 2)); resp.StatusCode != 201 {
		t.Fatalf("after cancel: %d %s", resp.StatusCode, b)
	}
}

func TestDedupAndRoutes(t *testing.T) {
	f := &fake{}
	_, ts := newTest(t, Config{Analyzer: f})
	img := testPNG(t, 5)
	resp, b := do(t, "POST", ts.URL+"/v1/analyses?name=a.png", "", "image/png", img)
	if resp.StatusCode != 201 {
		t.Fatalf("first upload: %d %s", resp.StatusCode, b)
	}
	var r1, r2 report.Report
	json.Unmarshal(b, &r1)
	// The same bytes again, as multipart: the same analysis.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("image", "b.png")
	fw.Write(img)
	mw.Close()
	resp, b = do(t, "POST", ts.URL+"/v1/analyses", "", mw.FormDataContentType(), mp.Bytes())
	if resp.StatusCode != 200 {
		t.Fatalf("second upload: %d %s", resp.StatusCode, b)
	}
	json.Unmarshal(b, &r2)
	if r1.ID == "" || r1.ID != r2.ID || f.calls.Load() != 1 {
		t.Fatalf("ids %q %q, %d analyses; want one id, one analysis", r1.ID, r2.ID, f.calls.Load())
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/analyses/"+r1.ID {
		t.Errorf("Location %q", loc)
	}
	for _, c := range []struct {
		path, ctype string
		status      int
	}{
		{"/v1/analyses/" + r1.ID, "application/json", 200},
		{"/v1/analyses/" + r1.ID + "/overlay.png", "image/png", 200},
		{"/v1/analyses/" + r1.ID + "/overlay.png?layers=vessels,av,disc,zones,lesions", "image/png", 200},
		{"/v1/analyses/" + r1.ID + "/overlay.png?layers=bogus", "application/json", 400},
		{"/v1/analyses/0000000000000000", "application/json", 404},
		{"/v1/analyses/0000000000000000/overlay.png", "application/json", 404},
	} {
		resp, b := do(t, "GET", ts.URL+c.path, "", "", nil)
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s: %d %s, want %d %s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.ctype)
		}
		if c.ctype == "image/png" {
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: %v", c.path, err)
			}
		}
	}
}

func TestDedupConcurrent(t *testing.T) {
	f := &fake{started: make(chan string, 4), block: make(chan struct{})}
	s, ts := newTest(t, Config{Analyzer: f, Workers: 2})
	img := testPNG(t, 6)
	var wg sync.WaitGroup
	ids := make([]string, 3)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, b := do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", img)
			var r report.Report
			json.Unmarshal(b, &r)
			ids[i] = r.ID
		}()
	}
	<-f.started
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.pool.mu.Lock()
		n := 0
		for _, c := range s.pool.inflight {
			n += c.waiters
		}
		s.pool.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want 3", n)
		}
		time.Sleep(time.Millisecond)
	}
	close(f.block)
	wg.Wait()
	if f.calls.Load() != 1 || ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("%d analyses, ids %q", f.calls.Load(), ids)
	}
}

func TestCacheBound(t *testing.T) {
	f := &fake{}
	s, ts := newTest(t, Config{Analyzer: f, CacheEntries: 2})
	var first string
	for i := range 3 {
		_, b := do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 20+i))
		if i == 0 {
			var r report.Report
			json.Unmarshal(b, &r)
			first = r.ID
		}
	}
	if n, _ := s.pool.cacheStats(); n != 2 {
		t.Errorf("%d cached, want 2", n)
	}
	if resp, _ := do(t, "GET", ts.URL+"/v1/analyses/"+first, "", "", nil); resp.StatusCode != 404 {
		t.Errorf("the least recently used analysis was not evicted: %d", resp.StatusCode)
	}
}

func chatBody(t testing.TB, img []byte, stream bool, questions ...string) []byte {
	t.Helper()
	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)
	msgs := []any{
		map[string]any{"role": "system", "content": "You are helpful."},
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "text", "text": questions[0]},
			map[string]any{"type": "image_url", "image_url": map[string]string{"url": uri}},
		}},
	}
	for _, q := range questions[1:] {
		msgs = append(msgs, map[string]any{"role": "assistant", "content": "(earlier answer)"}, map[string]any{"role": "user", "content": q})
	}
	b, err := json.Marshal(map[string]any{"model": "retinalgpt", "messages": msgs, "stream": stream})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestChatCompletions(t *testing.T) {
	f := &fake{}
	_, ts := newTest(t, Config{Analyzer: f})
	img := testPNG(t, 7)
	body := chatBody(t, img, false, "What is the CRAE?", "and the veins?")
	resp, b := do(t, "POST", ts.URL+"/v1/chat/completions", "", "application/json", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var c chatCompletion
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.Object != "chat.completion" || len(c.Choices) != 1 || c.Choices[0].Message == nil ||
		c.Choices[0].Message.Role != "assistant" || c.Choices[0].Message.Content == "" || *c.Choices[0].FinishReason != "stop" {
		t.Fatalf("bad completion: %s", b)
	}
	if c.RetinalGPT == nil || c.RetinalGPT.AnalysisID == "" || len(c.RetinalGPT.Grounded)+len(c.RetinalGPT.Missing) == 0 {
		t.Errorf("no grounding: %s", b)
	}
	answer := c.Choices[0].Message.Content
	if !strings.Contains(strings.ToLower(answer), "ven") {
		t.Errorf("the follow-up was not answered about the veins: %q", answer)
	}

	// Streamed: the same answer in chunks, then [DONE].
	resp2, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", bytes.NewReader(chatBody(t, img, true, "What is the CRAE?", "and the veins?")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if ct := resp2.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	var got strings.Builder
	var done bool
	sc := bufio.NewScanner(resp2.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var ch chatCompletion
		if err := json.Unmarshal([]byte(data), &ch); err != nil || ch.Object != "chat.completion.chunk" || ch.Choices[0].Delta == nil {
			t.Fatalf("bad chunk %q: %v", data, err)
		}
		got.WriteString(ch.Choices[0].Delta.Content)
	}
	if !done || got.String() != answer {
		t.Errorf("streamed %q (done %v), want %q", got.String(), done, answer)
	}
	if f.calls.Load() != 1 {
		t.Errorf("%d analyses for one photo", f.calls.Load())
	}
}

func TestChatErrors(t *testing.T) {
	_, ts := newTest(t, Config{Analyzer: &fake{}})
	for _, c := range []struct {
		name, body string
		status     int
	}{
		{"not json", "{", 400},
		{"no messages", `{"messages":[]}`, 400},
		{"no image", `{"messages":[{"role":"user","content":"hi"}]}`, 400},
		{"remote url", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}}]}]}`, 400},
		{"bad base64", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,!!!"}}]}]}`, 400},
		{"not an image", fmt.Sprintf(`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}}]}]}`, base64.StdEncoding.EncodeToString([]byte("text"))), 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, b := do(t, "POST", ts.URL+"/v1/chat/completions", "", "application/json", []byte(c.body))
			if resp.StatusCode != c.status {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, c.status, b)
			}
			errorCode(t, b)
		})
	}
}

func TestMetrics(t *testing.T) {
	f := &fake{}
	_, ts := newTest(t, Config{Analyzer: f, Workers: 1})
	do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 8))
	// Refused from its header, before the queue: no analysis counted.
	do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", []byte("nope"))
	// A sound header, truncated data: the worker's decoding refuses it.
	do(t, "POST", ts.URL+"/v1/analyses", "", "image/png", testPNG(t, 9)[:60])
	do(t, "GET", ts.URL+"/healthz", "", "", nil)
	resp, b := do(t, "GET", ts.URL+"/metrics", "", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`retinalgpt_http_requests_total{route="POST /v1/analyses",code="201"} 1`,
		`retinalgpt_http_requests_total{route="POST /v1/analyses",code="400"} 2`,
		`retinalgpt_http_requests_total{route="GET /healthz",code="200"} 1`,
		`retinalgpt_http_request_duration_seconds_count{route="POST /v1/analyses",code="201"} 1`,
		`retinalgpt_analysis_stage_seconds_count{stage="total"} 2`,
		`retinalgpt_http_request_duration_seconds_bucket{route="POST /v1/analyses",code="201",le="+Inf"} 1`,
		`retinalgpt_http_request_duration_seconds_bucket{route="GET /healthz",code="200",le="60"} 1`,
		`retinalgpt_analysis_stage_seconds_bucket{stage="total",le="+Inf"} 2`,
		`retinalgpt_analyses_total{outcome="ok"} 1`,
		`retinalgpt_analyses_total{outcome="bad_image"} 1`,
		"retinalgpt_analysis_queue_depth 0",
		"retinalgpt_ready 1",
		"retinalgpt_uploads_in_progress 0",
		"retinalgpt_uploads_max 18", // 2 × (1 worker + queue 8)
		`retinalgpt_store_writes_total{outcome="ok"} 0`,
	} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && !strings.Contains(string(b), "\nprocess_resident_memory_bytes ") {
		t.Error("metrics lack the process's resident memory")
	}
}

func TestOpenAPI(t *testing.T) {
	_, ts := newTest(t, Config{})
	_, b := do(t, "GET", ts.URL+"/openapi.json", "", "", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for _, route := range []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json", "POST /v1/analyses",
		"GET /v1/analyses/{id}", "GET /v1/analyses/{id}/overlay.png", "GET /v1/analyses/{id}/report.csv",
		"GET /v1/analyses/{id}/report.html", "GET /", "POST /v1/chat/completions"} {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("openapi.json does not describe %s", route)
		}
	}
}

func TestErrorStatusCancelled(t *testing.T) {
	if s, _, _ := errorStatus(fmt.Errorf("x: %w", context.DeadlineExceeded)); s != http.StatusGatewayTimeout {
		t.Errorf("deadline: %d", s)
	}
	if s, _, _ := errorStatus(errors.New("other")); s != 500 {
		t.Errorf("other: %d", s)
	}
}

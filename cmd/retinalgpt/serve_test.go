package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/server"
)

func TestServeRefusesOpenAddrWithoutToken(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		_, stderr, code := run(t, "serve", "--addr", addr)
		if code != exitUsage || !strings.Contains(stderr, "--token") {
			t.Errorf("serve --addr %s: exit %d, %q", addr, code, stderr)
		}
	}
}

func TestServeLifecycle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newServeCmd()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cmd, ln, srv, func() (*analysis.Analyzer, error) { return nil, infer.ErrRuntimeMissing })
	}()
	base := "http://" + ln.Addr().String()
	get := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("/healthz"); c != 200 {
		t.Errorf("healthz %d", c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for get("/readyz") != 503 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c := get("/readyz"); c != 503 {
		t.Errorf("readyz without models: %d", c)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("serve: %v", err)
	}
}

func TestServeStoreFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--store-max-bytes", "1GiB"},
		{"--store-max-age", "720h"},
		{"--store", t.TempDir(), "--store-max-age", "-1h"},
		{"--store", t.TempDir(), "--store-max-bytes", "-5"},
		{"--store", t.TempDir(), "--store-max-bytes", "10 parsecs"},
	} {
		_, stderr, code := run(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
		if code != exitUsage {
			t.Errorf("serve %q: exit %d, %q", args, code, stderr)
		}
	}
}

func TestServeByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		str  string
	}{
		{"0", 0, "0"},
		{"1000", 1000, "1000"},
		{"10GiB", 10 << 30, "10GiB"},
		{"10G", 10 << 30, "10GiB"},
		{"10gb", 10 << 30, "10GiB"},
		{"500MiB", 500 << 20, "500MiB"},
		{"1.5GiB", 3 << 29, "1536MiB"},
		{"2TiB", 2 << 40, "2TiB"},
		{"64k", 64 << 10, "64KiB"},
	}
	for _, tc := range tests {
		var b byteSize
		if err := b.Set(tc.in); err != nil || int64(b) != tc.want || b.String() != tc.str {
			t.Errorf("%q: %d %q %v, want %d %q", tc.in, b, b.String(), err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "GiB", "-1", "1PB", "1e30", "x1"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("%q accepted as %d", bad, b)
		}
	}
}

func TestServeBadEngine(t *testing.T) {
	_, stderr, code := run(t, "serve", "--addr", "127.0.0.1:0", "--engine", "bogus")
	if code != exitUsage {
		t.Errorf("serve --engine bogus: exit %d, %q", code, stderr)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingOn = regexp.MustCompile(`serving on (http://\S+) `)

// startServe runs `retinalgpt serve args...` on a free port until the
// returned stop is called, and waits until the models are loaded.
func startServe(t *testing.T, args ...string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	cmd := newRootCmd(&out, &errb)
	cmd.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v\n%s", err, errb.String())
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if m := servingOn.FindStringSubmatch(errb.String()); m != nil && base == "" {
			base = m[1]
		}
		if base != "" {
			if resp, err := http.Get(base + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return base, stop
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	t.Fatalf("serve did not get ready: %s", errb.String())
	return "", nil
}

func listFiles(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				out = append(out, p)
			}
			return err
		})
	}
	return out
}

// TestServeStore runs `serve` with the real models: without --store an
// upload and a chat write no file (HOME, TMPDIR and the working directory
// stay empty); with --store the photo, its layers and its report are
// written by id, and after a restart the report, the overlay and
// report.html are served from the store, the same bytes as before,
// without running the models.
func TestServeStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every model")
	}
	requireORT(t)
	lib, err := infer.FindLibrary("")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ONNXRUNTIME_LIB", lib) // found before HOME moves
	home, tmp, cwd := t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("TMPDIR", tmp)
	t.Chdir(cwd)
	photo := sample.Photo()
	post := func(base string) string {
		t.Helper()
		resp, err := http.Post(base+"/v1/analyses?name=eye.jpg", "image/jpeg", bytes.NewReader(photo))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("upload: %d %s", resp.StatusCode, b)
		}
		return strings.TrimPrefix(resp.Header.Get("Location"), "/v1/analyses/")
	}

	base, stop := startServe(t)
	id := post(base)
	chat := `{"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"what is the CDR?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,` +
		base64.StdEncoding.EncodeToString(photo) + `"}}]}]}`
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(chat))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("chat: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	stop()
	if files := listFiles(t, home, tmp, cwd); len(files) > 0 {
		t.Errorf("serve without --store wrote %v", files)
	}

	get := func(url string) []byte {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %.200s", url, resp.StatusCode, b)
		}
		return b
	}
	drawn := []string{"/overlay.png", "/overlay.png?layers=vessels,disc", "/report.html"}
	before := map[string][]byte{}

	store := filepath.Join(t.TempDir(), "store")
	base, stop = startServe(t, "--store", store, "--store-max-bytes", "1GiB", "--store-max-age", "720h")
	if got := post(base); got != id {
		t.Fatalf("id %s, before %s", got, id)
	}
	for _, p := range drawn {
		before[p] = get(base + "/v1/analyses/" + id + p)
	}
	stop()
	files := listFiles(t, store)
	slices.Sort(files)
	if want := []string{filepath.Join(store, id+".jpg"), filepath.Join(store, id+".json"), filepath.Join(store, id+".layers.zip")}; !slices.Equal(files, want) {
		t.Fatalf("store holds %v, want %v", files, want)
	}
	base, stop = startServe(t, "--store", store)
	defer stop()
	for _, p := range drawn {
		if b := get(base + "/v1/analyses/" + id + p); !bytes.Equal(b, before[p]) {
			t.Errorf("%s after a restart: %d bytes, not the %d served before", p, len(b), len(before[p]))
		}
	}
	if m := get(base + "/metrics"); bytes.Contains(m, []byte("retinalgpt_analyses_total{")) || !bytes.Contains(m, []byte(`retinalgpt_store_restores_total{outcome="ok"} 1`)) {
		t.Errorf("after a restart the overlay ran the models, or was not restored from the store:\n%s", m)
	}
	resp, err = http.Get(base + "/v1/analyses/" + id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"id": "`+id+`"`)) {
		t.Errorf("report after a restart: %d %.200s", resp.StatusCode, b)
	}
}

// TestServeEngineFlag: `serve --engine openai` answers the chat with the
// configured LLM (a scripted OpenAI-compatible server), and the answer
// carries who answered and the region it talks about.
func TestServeEngineFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every model")
	}
	requireORT(t)
	// The fake LLM quotes the sample's measured ratio (which follows the
	// committed disc/cup model), so the server must highlight disc and cup.
	stdout, stderr, code := run(t, "analyze", "--json", "--out", t.TempDir())
	var rep struct {
		Disc struct {
			CDR struct{ Vertical float64 } `json:"cdr"`
		} `json:"disc"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); code != 0 || err != nil || rep.Disc.CDR.Vertical <= 0 {
		t.Fatalf("analyze the sample: code %d, %v, cdr %v; stderr %s", code, err, rep.Disc.CDR.Vertical, stderr)
	}
	want := fmt.Sprintf("The vertical cup-to-disc ratio is %.3f.", rep.Disc.CDR.Vertical)
	url, _ := fakeLLM(t, want, 0)
	base, stop := startServe(t, "--engine", "openai", "--llm-url", url, "--llm-model", "fake")
	defer stop()
	body := `{"messages":[{"role":"user","content":[{"type":"text","text":"what is the CDR?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,` +
		base64.StdEncoding.EncodeToString(sample.Photo()) + `"}}]}]}`
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		RetinalGPT struct {
			Engine     string `json:"engine"`
			Highlights []struct {
				Kind string `json:"kind"`
			} `json:"highlights"`
		} `json:"retinalgpt"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 || len(c.Choices) != 1 {
		t.Fatalf("chat: %d %v", resp.StatusCode, err)
	}
	if c.Choices[0].Message.Content != want || c.RetinalGPT.Engine != "openai" {
		t.Errorf("answer %q by %q, want the LLM's %q", c.Choices[0].Message.Content, c.RetinalGPT.Engine, want)
	}
	// the answer quotes the vertical cup-to-disc ratio: the disc and the cup
	var kinds []string
	for _, h := range c.RetinalGPT.Highlights {
		kinds = append(kinds, h.Kind)
	}
	if strings.Join(kinds, ",") != "disc,cup" {
		t.Errorf("highlights %q, want the disc and the cup", kinds)
	}
}

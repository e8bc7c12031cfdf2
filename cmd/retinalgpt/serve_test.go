package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

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

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/server"
)

type serveFlags struct {
	rt           runtimeFlags
	addr         string
	token        string
	workers      int
	queue        int
	maxBodyMB    int64
	timeout      time.Duration
	cacheEntries int
	cacheMB      int64
	maxMP        float64
	lesions      bool
	noGate       bool
	store        string
	maxUploads   int
	eng          engineFlags
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (analyses, overlays, OpenAI-compatible chat, metrics)",
		Long: `Serve RetinalGPT's HTTP API, described by the OpenAPI document at
/openapi.json:

  POST /v1/analyses                     analyse a photo (raw body or multipart field "image")
  GET  /v1/analyses/{id}                its Report
  GET  /v1/analyses/{id}/overlay.png    the photo with overlays (?layers=vessels,av,disc,zones,lesions)
  GET  /v1/analyses/{id}/report.csv     its biomarkers, one AutoMorph-compatible CSV row
  GET  /v1/analyses/{id}/report.html    a printable, self-contained HTML report
  POST /v1/chat/completions             OpenAI-compatible chat, photo as an image_url data URI, "stream": true for SSE
  GET  /healthz, /readyz, /metrics      liveness, models loaded, Prometheus metrics
  GET  /                                the web app: upload, overlays, findings, chat, downloads

It listens on 127.0.0.1:8080 unless --addr says otherwise; beyond loopback
--token is required and every request but /healthz, /readyz,
/openapi.json and the web app's files (/, /static/) must send "Authorization: Bearer TOKEN". Analyses run on a
fixed pool of --workers behind a queue of --queue; beyond it uploads get 429
with Retry-After, and beyond --max-uploads requests carrying a photo get 429
before their body is read. Identical images are analysed once and kept in memory
(--cache-entries, --cache-mb). No image is written to disk unless --store
DIR is given: then each analysed upload and its Report are written there
(ID.jpg and ID.json, atomically), and GET /v1/analyses/{id} answers from
the store after the cache dropped it or the server restarted.

The chat (POST /v1/chat/completions and the web app's) is answered by the
built-in responder, or by an LLM with --engine ollama|openai (the same
flags as ask and chat; docs/assistant.md).

Not a medical device: results are for research and must be reviewed by a
qualified clinician.`,
		Example: `  retinalgpt serve
  retinalgpt serve --store /var/lib/retinalgpt
  retinalgpt serve --engine ollama --model llama3.1
  retinalgpt serve --addr 0.0.0.0:8080 --token "$(openssl rand -hex 16)"
  curl --data-binary @photo.jpg http://127.0.0.1:8080/v1/analyses`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runServe(cmd, f) },
	}
	f.rt.register(cmd)
	f.eng.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (host:port)")
	fl.StringVar(&f.token, "token", "", "bearer token clients must send (required when --addr is not loopback)")
	fl.IntVar(&f.workers, "workers", 0, "analysis workers (default: CPUs/2, at least 1)")
	fl.IntVar(&f.queue, "queue", server.DefaultQueue, "analyses that may wait for a worker before uploads get 429")
	fl.Int64Var(&f.maxBodyMB, "max-body-mb", server.DefaultMaxBodyBytes>>20, "request body limit in MiB (413 beyond)")
	fl.DurationVar(&f.timeout, "timeout", server.DefaultTimeout, "time limit of one request, its analysis included")
	fl.IntVar(&f.cacheEntries, "cache-entries", server.DefaultCacheEntries, "analyses kept in memory")
	fl.Int64Var(&f.cacheMB, "cache-mb", server.DefaultCacheBytes>>20, "estimated memory of the analyses kept, in MiB")
	fl.Float64Var(&f.maxMP, "max-megapixels", 100, "refuse images larger than this (decompression-bomb guard)")
	fl.BoolVar(&f.lesions, "lesions", false, lesionsFlagHelp)
	fl.BoolVar(&f.noGate, "no-quality-gate", false, noGateFlagHelp)
	fl.IntVar(&f.maxUploads, "max-uploads", 0, "requests carrying a photo (uploads, chat) allowed at once, read or waiting; beyond it 429 before the body is read (default: 2 × (workers + queue))")
	fl.StringVar(&f.store, "store", "", "keep each analysed upload and its report in this directory (created 0700), and answer from it after a restart; default: nothing is written to disk")
	return cmd
}

func runServe(cmd *cobra.Command, f serveFlags) error {
	if err := server.CheckAddr(f.addr, f.token); err != nil {
		return usageError{err}
	}
	if f.workers < 0 || f.maxUploads < 0 || f.queue < 1 || f.maxBodyMB < 1 || f.timeout <= 0 || f.cacheEntries < 1 || f.cacheMB < 1 {
		return usageError{errors.New("--workers and --max-uploads must be >= 0; --queue, --max-body-mb, --timeout, --cache-entries and --cache-mb must be positive")}
	}
	engine, err := f.eng.newEngine()
	if err != nil {
		return err
	}
	var store *server.Store
	if f.store != "" {
		if store, err = server.OpenStore(f.store); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	srv := server.New(server.Config{
		Engine: engine, Store: store, MaxUploads: f.maxUploads,
		Token: f.token, Workers: f.workers, Queue: f.queue, MaxBodyBytes: f.maxBodyMB << 20, Timeout: f.timeout,
		CacheEntries: f.cacheEntries, CacheBytes: f.cacheMB << 20,
		Options: analysis.Options{Lesions: f.lesions, NoQualityGate: f.noGate},
		Limits:  fundus.Limits{MaxBytes: f.maxBodyMB << 20, MaxPixels: int64(f.maxMP * 1e6)},
	})
	defer srv.Close()
	if store != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "retinalgpt: keeping analysed photos and reports in %s\n", store.Dir())
	}
	if f.eng.engine != "" && f.eng.engine != "builtin" {
		fmt.Fprintf(cmd.ErrOrStderr(), "retinalgpt: chat answered by %s (model %q)\n", f.eng.engine, f.eng.model)
	}
	return serve(cmd.Context(), cmd, ln, srv, f.rt.analyzer)
}

// serve answers on ln until ctx ends, loading the models in the
// background (/readyz says when they are loaded).
func serve(ctx context.Context, cmd *cobra.Command, ln net.Listener, srv *server.Server, load func() (*analysis.Analyzer, error)) error {
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	loaded := make(chan *analysis.Analyzer, 1)
	go func() {
		an, err := load()
		if err != nil {
			slog.Error("models not loaded; /readyz will say why", "err", err)
			srv.SetAnalyzer(nil, err)
			loaded <- nil
			return
		}
		srv.SetAnalyzer(an, nil)
		slog.Info("models loaded")
		loaded <- an
	}()
	fmt.Fprintf(cmd.ErrOrStderr(), "retinalgpt: serving on http://%s (API description at /openapi.json)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	if an := <-loaded; an != nil {
		srv.Close()
		an.Close()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
